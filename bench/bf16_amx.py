"""The bf16 GEMM on AMX tiles (GemmBlocking::bf16_amx) against the
AVX512-BF16 kernel (vdpbf16ps) and the fp32 GEMM, kernel alone.

    python bench/bf16_amx.py [--rounds 9] [--reps 10] [--shapes 3136x64x256 ...]

Shapes: MobileNetV2's bf16 products at the sizes its fused blocks run them
(bands of rows: the first layer's im2col rows, expands, projections) and
ResNet50's 1x1 and im2col products per image (m = output pixels). Each sample
runs the GEMM (B packed once) `--reps` times, thread CPU time
(time.thread_time), AMX off and on through _testing.set_gemm_blocking (the
CPU's values restored after), fp32 beside them; candidates take turns, the
order reversed each round, round 0 a warm-up; medians. The bits differ
between AMX and vdpbf16ps by float32 summation order (README, "Reduced
precision"): the largest difference is printed relative to the scale of the
products. Prints the command, the CPU model and the load average.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from _harness import run_header

import tfjs_infer
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
    "196x960x160",
    "12544x147x64",
    "3136x64x256",
    "3136x576x64",
    "784x1152x128",
    "196x2304x256",
    "49x4608x512",
    "32x2048x1000",
    "1x2048x1000",
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--shapes", nargs="*", default=SHAPES, help="MxKxN ...")
    args = ap.parse_args()
    run_header("bf16_amx.py")
    if not tfjs_infer.build_info()["amx_bf16"]:
        raise SystemExit("no AMX-BF16 here: " + tfjs_infer.build_info()["amx_status"])
    print(f"relu6 + bias, 1 thread, thread CPU time, medians of {args.rounds} rounds")
    cols = ("fp32 us", "avx512 us", "amx us", "amx/avx", "amx/fp32", "amx GMAC/s", "rel diff")
    print(f"{'m x k x n':>14} " + " ".join(f"{c:>10}" for c in cols))
    saved = tfjs_infer.build_info()["cpu"]["gemm"]
    rng = np.random.default_rng(0)
    for shape in args.shapes:
        m, k, n = (int(v) for v in shape.lower().split("x"))
        a = np.maximum(rng.standard_normal((m, k), dtype=np.float32), 0)
        b = rng.standard_normal((k, n), dtype=np.float32) / np.float32(np.sqrt(k))
        bias = rng.standard_normal(n, dtype=np.float32)
        packed = T.lowp_pack("bf16", b)
        reps = max(1, int(args.reps * 2e8 / (m * k * n)))
        outs = {v: np.empty((m, n), np.float32) for v in ("avx512", "amx")}

        def low(name: str, a=a, b=b, bias=bias, packed=packed, reps=reps, outs=outs) -> None:
            T.set_gemm_blocking(**{**saved, "bf16_amx": int(name == "amx")})
            T.gemm_lowp(
                "avx512",
                "bf16",
                a,
                b,
                bias=bias,
                act="relu6",
                prepacked=packed,
                reps=reps,
                out=outs[name],
            )

        def fp32(a=a, b=b, bias=bias, reps=reps) -> None:
            T.gemm("avx512", a, b, bias=bias, act="relu6", reps=reps)

        runs = {"fp32": fp32, "avx512": lambda: low("avx512"), "amx": lambda: low("amx")}
        samples: dict[str, list[float]] = {name: [] for name in runs}
        try:
            for r in range(args.rounds + 1):
                order = list(runs) if r % 2 == 0 else list(runs)[::-1]
                for name in order:
                    t0 = time.thread_time()
                    runs[name]()
                    if r > 0:
                        samples[name].append(time.thread_time() - t0)
        finally:
            T.set_gemm_blocking(**saved)
        med = {name: float(np.median(v)) / reps for name, v in samples.items()}
        scale = float(np.abs(a).max() * np.abs(b).max() * k) or 1.0
        diff = float(np.abs(outs["amx"] - outs["avx512"]).max()) / scale
        print(
            f"{shape:>14} {med['fp32'] * 1e6:10.1f} {med['avx512'] * 1e6:10.1f} "
            f"{med['amx'] * 1e6:10.1f} {med['amx'] / med['avx512']:10.3f} "
            f"{med['amx'] / med['fp32']:10.3f} {m * k * n / 1e9 / med['amx']:10.1f} {diff:10.2e}"
        )
    print("load average after:", " ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
