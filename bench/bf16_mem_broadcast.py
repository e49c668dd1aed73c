"""The AVX512-BF16 GEMM's A-word broadcast (GemmBlocking::bf16_mem_broadcast)
off and on.

    python bench/bf16_mem_broadcast.py [--rounds 15] [--reps 20] [--shapes 1536x32x16 ...]

Off, each tile row's A word is broadcast into a register (vpbroadcastd) and
fed to the row's vdpbf16ps; on, every vdpbf16ps reads it from memory as an
embedded broadcast ({1to16}). Shapes: MobileNetV2's bf16 products at the
sizes the fused blocks run them (bands of rows): the first layer's im2col
rows (k = 27), the first project (n = 16), the expands of short k (16, 24),
the projections to 24 and 32 channels, and a 6x4-tile shape (n = 384).
Each sample sets the switch (_testing.set_gemm_blocking), runs the bf16 GEMM
(B packed once) `--reps` times, thread CPU time (time.thread_time);
candidates take turns, the order reversed each round; medians. Outputs
checked equal bit for bit. Prints the command, the CPU model and the load
average.
"""

from __future__ import annotations

import argparse
import os

import numpy as np
from _harness import gemm_blocking_ab, run_header

from tfjs_infer import _core

T = _core._testing
SHAPES = [
    "1536x27x32",
    "1536x32x16",
    "1536x16x96",
    "784x24x144",
    "784x96x24",
    "784x144x32",
    "196x64x384",
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--shapes", nargs="*", default=SHAPES, help="MxKxN ...")
    args = ap.parse_args()
    run_header("bf16_mem_broadcast.py")
    if "avx512" not in T.lowp_isas("bf16"):
        raise SystemExit("no AVX512-BF16 GEMM on this CPU")
    print(f"bf16, relu6, 1 thread, thread CPU time, medians of {args.rounds} rounds")
    cols = ("off us", "on us", "on/off", "off GMAC/s", "on GMAC/s")
    print(f"{'m x k x n':>16} " + " ".join(f"{c:>10}" for c in cols))
    rng = np.random.default_rng(0)
    for shape in args.shapes:
        m, k, n = (int(v) for v in shape.lower().split("x"))
        a = np.maximum(rng.standard_normal((m, k), dtype=np.float32), 0)
        b = rng.standard_normal((k, n), dtype=np.float32) / np.float32(np.sqrt(k))
        bias = rng.standard_normal(n, dtype=np.float32)
        packed = T.lowp_pack("bf16", b)
        reps = max(1, args.reps * 1536 // m)

        def run(out: np.ndarray, a=a, b=b, bias=bias, packed=packed, reps=reps) -> None:
            T.gemm_lowp(
                "avx512", "bf16", a, b, bias=bias, act="relu6", prepacked=packed, reps=reps, out=out
            )

        outs = (np.empty((m, n), np.float32), np.empty((m, n), np.float32))
        off, on, same = gemm_blocking_ab("bf16_mem_broadcast", run, outs, args.rounds)
        if not same:
            raise SystemExit(f"{shape}: outputs differ")
        off, on = off / reps, on / reps
        gmac = m * k * n / 1e9
        print(
            f"{shape:>16} {off * 1e6:10.1f} {on * 1e6:10.1f} {on / off:10.3f} "
            f"{gmac / off:10.1f} {gmac / on:10.1f}"
        )
    print("load average after:", " ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
