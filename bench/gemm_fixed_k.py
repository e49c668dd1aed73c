"""The fp32 or bf16 GEMM's fixed-k tiles (GemmBlocking::fixed_k) off and on.

    python bench/gemm_fixed_k.py [--precision fp32|bf16] [--rounds 15] [--reps 20]
        [--shapes 1904x32x16 ...]

With the switch on, the full row tiles of a GEMM whose A rows are k = 16, 24 or
32 contiguous floats run a tile compiled for that k (the k loop unrolled, every
A value at a constant offset from one pointer) instead of the loop for any k.
Shapes: MobileNetV2's thin 1x1 products at batch 1 as the fused blocks run
them, one band at a time: the stem chain's projection (17 rows of 112 pixels,
32 -> 16), block 1's expand (9 and 8 rows of 112, 16 -> 96), blocks 2-3's
expands (9 and 7 rows of 56, 24 -> 144), blocks 4-6's (13 rows of 28, 32 ->
192); and block 1's whole expand (12544 rows). Each sample sets the switch
(_testing.set_gemm_blocking), runs the GEMM `--reps` times (relu6, with a
bias), thread CPU time (bf16: the AVX512-BF16 kernel, lowp_x86.h
lowp_tiles_fixed_k, with the memory broadcast on); candidates take turns, the
order reversed each round; medians. Outputs checked equal bit for bit. Prints
the command, the CPU model and the load average.
"""

from __future__ import annotations

import argparse
import os

import numpy as np
from _harness import gemm_blocking_ab_row, run_header

from tfjs_infer import _core

T = _core._testing
SHAPES = ["1904x32x16", "1008x16x96", "896x16x96", "504x24x144", "392x24x144", "364x32x192"]
SHAPES += ["12544x16x96"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--shapes", nargs="*", default=SHAPES, help="MxKxN ...")
    ap.add_argument("--isa", default="avx512")
    ap.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    args = ap.parse_args()
    run_header("gemm_fixed_k.py")
    print(
        f"isa {args.isa}, {args.precision}, 1 thread, thread CPU time, "
        f"medians of {args.rounds} rounds"
    )
    cols = ("off us", "on us", "on/off", "off GF/s", "on GF/s")
    print(f"{'m x k x n':>16} " + " ".join(f"{c:>9}" for c in cols))
    rng = np.random.default_rng(0)
    for shape in args.shapes:
        m, k, n = (int(v) for v in shape.lower().split("x"))
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        bias = rng.standard_normal(n, dtype=np.float32)
        bf16 = args.precision == "bf16"
        pb = T.lowp_pack("bf16", b) if bf16 else T.pack_b(args.isa, b)
        reps = max(1, args.reps * 3136 // m)

        def run(out: np.ndarray, a=a, b=b, pb=pb, bias=bias, reps=reps, bf16=bf16) -> None:
            if bf16:
                T.gemm_lowp(
                    args.isa, "bf16", a, b, bias=bias, act="relu6", reps=reps, prepacked=pb, out=out
                )
                return
            for _ in range(reps):
                T.gemm(args.isa, a, pb, bias=bias, act="relu6", out=out)

        gemm_blocking_ab_row("fixed_k", shape, m, k, n, run, reps, args.rounds)
    print("load average after:", " ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
