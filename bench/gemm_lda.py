"""A's row stride against GEMM speed: the L1 set-aliasing check for A read in place.

    python bench/gemm_lda.py                           # default shapes, pads 0 16 64
    python bench/gemm_lda.py --shapes 1024x1024x1024 --pads 0 16 --reps 15

The packed-B GEMM reads A in place (kernels/simd/gemm_simd.h): a row tile
broadcasts from MR rows lda floats apart. With lda = 1024 the rows are 4 KiB
apart and share one L1D set (64 sets of 64 B); a conflict-miss problem would
show as a k = 1024 GEMM running slower with lda = k than with lda = k + 16.
Each candidate is the same m x k . k x n product (same B, same FLOPs) with A a
view of rows of k + pad floats. One thread, interleaved, medians of the
calling thread's CPU time; %adj is GFLOP/s over an FMA-loop probe run right
before each sample (see bench/gemm.py), which discounts the FMA throughput a
shared host gives this process.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import cpu_line

SHAPES = ["1024x1024x1024", "49x4608x512", "196x2304x256", "256x784x512"]
FLOPS_PER_PROBE_ITER = 2 * 12 * 16  # avx512: 12 chains of 16-lane FMAs


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--shapes", nargs="*", default=SHAPES, help="MxKxN ...")
    p.add_argument("--pads", nargs="*", type=int, default=[0, 16, 64], help="lda - k, in floats")
    p.add_argument("--reps", type=int, default=11, help="interleaved repetitions (median)")
    p.add_argument("--isa", default="avx512")
    return p.parse_args()


def main() -> None:
    args = parse_args()
    from tfjs_infer import _core

    t = _core._testing
    print("command:", " ".join([os.path.basename(sys.executable), *sys.argv]))
    print(cpu_line())
    print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    flops_per_iter = FLOPS_PER_PROBE_ITER if args.isa == "avx512" else FLOPS_PER_PROBE_ITER // 2
    rng = np.random.default_rng(0)
    heads = " ".join(f"{'lda=k+' + str(p):>18}" for p in args.pads)
    print(f"{'shape (m x k . k x n)':>24} {heads}")
    for shape in args.shapes:
        m, k, n = (int(v) for v in shape.lower().split("x"))
        packed = t.pack_b(args.isa, rng.standard_normal((k, n), dtype=np.float32))
        a = rng.standard_normal((m, k), dtype=np.float32)
        views = {}
        for p in args.pads:
            views[p] = np.zeros((m, k + p), np.float32)[:, :k]
            views[p][:] = a
        outs = {p: np.empty((m, n), np.float32) for p in args.pads}
        flops = 2.0 * m * n * k
        calls = max(1, int(0.02 / (flops / 150e9)))  # ~20 ms per sample
        rates = {p: [] for p in args.pads}
        ratios = {p: [] for p in args.pads}
        for _ in range(args.reps):
            for p in args.pads:
                probe = t.fma_peak(args.isa, max(1000, int(0.02 * 200e9 / flops_per_iter)))
                t0 = time.thread_time()
                t.gemm(args.isa, views[p], packed, out=outs[p], reps=calls)
                rate = flops * calls / (time.thread_time() - t0) / 1e9
                rates[p].append(rate)
                ratios[p].append(rate / probe)
        first = outs[args.pads[0]]
        if any(not np.array_equal(first, outs[p]) for p in args.pads):
            print("  !! results differ between row strides")
        cells = [
            f"{np.median(rates[p]):7.1f} ({100 * np.median(ratios[p]):3.0f}%adj)" for p in args.pads
        ]
        print(f"{f'{m}x{k} . {k}x{n}':>24} " + " ".join(f"{c:>18}" for c in cells), flush=True)
    print(f"load average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
