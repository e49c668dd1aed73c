"""The AVX-512 GEMM's narrow tail (GemmBlocking::narrow_tail) off and on.

    python bench/narrow_tail.py [--rounds 15] [--reps 20] [--shapes 3136x96x24 ...]

A last panel of 17-24 valid columns (of the 32-column AVX-512 panels) runs
either as two zmm vectors per row (off: 1/4 of the FMAs on padding when n is
24) or as three ymm vectors (on), which costs 3/4 of the FMA issue where AVX-512
executes as two 256-bit halves (Zen 4). Shapes: MobileNetV2's 24-channel
projections at batch 1 (56 x 56 pixels: 3136 rows, k = 96 and 144; the
op runs them band by band, m = 672 rows a band) and at batch 32, and a panel
plus a tail (n = 56). Each sample sets the switch (_testing.set_gemm_blocking),
runs the GEMM `--reps` times, thread CPU time (time.thread_time); candidates
take turns, the order reversed each round; medians. Outputs checked equal bit
for bit. Prints the command, the CPU model and the load average.
"""

from __future__ import annotations

import argparse
import os

import numpy as np
from _harness import gemm_blocking_ab_row, run_header

from tfjs_infer import _core

T = _core._testing
SHAPES = ["3136x96x24", "3136x144x24", "672x96x24", "672x144x24", "100352x144x24", "3136x96x56"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--shapes", nargs="*", default=SHAPES, help="MxKxN ...")
    ap.add_argument("--isa", default="avx512")
    args = ap.parse_args()
    run_header("narrow_tail.py")
    print(f"isa {args.isa}, 1 thread, thread CPU time, medians of {args.rounds} rounds")
    cols = ("off us", "on us", "on/off", "off GF/s", "on GF/s")
    print(f"{'m x k x n':>16} " + " ".join(f"{c:>9}" for c in cols))
    rng = np.random.default_rng(0)
    for shape in args.shapes:
        m, k, n = (int(v) for v in shape.lower().split("x"))
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        bias = rng.standard_normal(n, dtype=np.float32)
        pb = T.pack_b(args.isa, b)
        reps = max(1, args.reps * 3136 // m) if m < 3136 else args.reps

        def run(out: np.ndarray, a=a, pb=pb, bias=bias, reps=reps) -> None:
            for _ in range(reps):
                T.gemm(args.isa, a, pb, bias=bias, act="relu6", out=out)

        gemm_blocking_ab_row("narrow_tail", shape, m, k, n, run, reps, args.rounds)
    print("load average after:", " ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
