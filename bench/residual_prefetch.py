"""The GEMM with a fused residual, the residual/C row prefetch off and on
(GemmBlocking::res_prefetch 0 and 1, TFJS_INFER_GEMM_RES_PREFETCH), and
without a residual, C rows prefetched (2) or not.

    python bench/residual_prefetch.py [--rounds 15] [--buffers 16] [--isa avx2]
        [--shapes 3136x64x256 784x128x512] [--precision int8] [--in-place]

The shapes are ResNet50's 1x1 convolutions that take its residual Add (stages
2-5 at batch 1). C and the residual cycle through --buffers different arrays
(16: from memory, as in a model where they were written layers ago; 2: in L3).
Every round times each candidate once, order reversed each round; one thread,
thread CPU time (time.thread_time), medians in microseconds per call, ratios to
"off". Bits checked equal between the candidates (the prefetch changes speed
only). Prints the command, the CPU model and the load average.

--precision int8: the int8 GEMM kernel (kernels/x86/lowp_x86.h, which follows
the same res_prefetch) on float32 rows quantized per row, as the int8 model's
1x1 convolutions run; --in-place: C written over the residual, as the models
plan a fused residual whose last reader the convolution is.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import numpy as np
from _harness import run_header

import tfjs_infer
from tfjs_infer import _core

T = _core._testing
SHAPES = ["3136x64x256", "784x128x512", "196x256x1024", "49x512x2048"]


def time_calls(fn: Callable[[int], None], calls: int) -> float:
    """Microseconds per call of fn(i) over `calls` calls."""
    t0 = time.thread_time()
    for i in range(calls):
        fn(i)
    return (time.thread_time() - t0) / calls * 1e6


def one_shape(isa: str, m: int, k: int, n: int, args: argparse.Namespace) -> dict[str, float]:
    """Median microseconds per call for each candidate."""
    rng = np.random.default_rng(m + k + n)
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    int8 = args.precision == "int8"
    packed = T.lowp_pack("int8", b) if int8 else T.pack_b(isa, b)
    res = [rng.standard_normal((m, n), dtype=np.float32) for _ in range(args.buffers)]
    outs = res if args.in_place else [np.empty((m, n), np.float32) for _ in range(args.buffers)]

    def gemm(residual: np.ndarray | None, out: np.ndarray | None) -> np.ndarray:
        if int8:
            return T.gemm_lowp(
                isa, "int8", a, b, residual=residual, act="relu", prepacked=packed, out=out
            )
        return T.gemm(isa, a, packed, residual=residual, act="relu", out=out)

    saved = tfjs_infer.build_info()["cpu"]["gemm"]
    base = dict(saved, res_prefetch=0)
    on = dict(saved, res_prefetch=1)
    c_too = dict(saved, res_prefetch=2)

    def with_res(i: int) -> None:
        j = i % args.buffers
        gemm(res[j], outs[j])

    def no_res(i: int) -> None:
        gemm(None, outs[i % args.buffers])

    cands = {
        "no residual": (base, no_res),
        "no residual, 2": (c_too, no_res),
        "off": (base, with_res),
        "on": (on, with_res),
    }
    check = {}
    for name in ("off", "on"):
        T.set_gemm_blocking(**cands[name][0])
        check[name] = gemm(res[0].copy(), None)
    assert np.array_equal(check["off"].view(np.uint32), check["on"].view(np.uint32))
    calls = max(4, int(2e8 / (2 * m * k * n)))
    samples: dict[str, list[float]] = {name: [] for name in cands}
    try:
        for r in range(args.rounds):
            names = list(cands) if r % 2 == 0 else list(reversed(cands))
            for name in names:
                blocking, fn = cands[name]
                T.set_gemm_blocking(**blocking)
                samples[name].append(time_calls(fn, calls))
    finally:
        T.set_gemm_blocking(**saved)
    return {name: float(np.median(v)) for name, v in samples.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    isas = T.available_isas()
    ap.add_argument("--isa", default="avx512" if "avx512" in isas else isas[-1])
    ap.add_argument("--rounds", type=int, default=15, help="interleaved rounds (median)")
    ap.add_argument("--buffers", type=int, default=16, help="residual/C arrays cycled")
    ap.add_argument("--shapes", nargs="*", default=SHAPES, help="MxKxN ...")
    ap.add_argument("--precision", choices=["fp32", "int8"], default="fp32")
    ap.add_argument("--in-place", action="store_true", help="C over the residual")
    args = ap.parse_args()
    run_header("residual_prefetch.py")
    if args.precision == "int8" and args.isa not in T.lowp_isas("int8"):
        raise SystemExit(f"isa {args.isa} has no int8 kernel on this CPU")
    where = ", C over the residual" if args.in_place else ""
    print(
        f"isa {args.isa}, {args.precision}, {args.buffers} buffers{where}, 1 thread, "
        "thread CPU time, us per call"
    )
    for shape in args.shapes:
        m, k, n = (int(v) for v in shape.split("x"))
        r = one_shape(args.isa, m, k, n, args)
        print(
            f"{shape:>14}: no residual {r['no residual']:8.1f}  with 2 {r['no residual, 2']:8.1f} "
            f"({r['no residual, 2'] / r['no residual']:.3f}x)  residual: off {r['off']:8.1f}  "
            f"on {r['on']:8.1f}  on/off {r['on'] / r['off']:.3f}x",
            flush=True,
        )
    print("load average after:", " ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
