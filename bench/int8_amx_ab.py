"""The int8 GEMM on AMX tiles against AVX512-VNNI (GemmBlocking::int8_amx 1
against 0), in one process, interleaved: single products of ResNet50's int8
shapes, and whole int8 models.

    python bench/int8_amx_ab.py [--shapes 3136x64x256 ...] [--models resnet50]
        [--batch 32] [--rounds 15] [--reps 20]

A shape MxKxN is one call of the kernel (_testing.gemm_lowp, M float32 rows
quantized per row as the 1x1 layers run, `reps` calls per timing), `r` adds a
residual. A model is bench/.models/<name> (tfjs/model.json, else model.h5)
loaded with precision="int8" at one thread, one predict of --batch samples per
timing. The two settings take turns (order reversed each round), thread CPU
time, medians in milliseconds, their ratio, and whether the outputs are equal
bit for bit. Prints the command, the CPU model and the load average. Needs an
AMX-INT8 CPU whose OS grants it.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from _harness import run_header

import tfjs_infer
from tfjs_infer import _core

HERE = Path(__file__).resolve().parent
T = _core._testing
SHAPES = [
    "3136x64x64",
    "3136x576x64",
    "3136x64x256r",
    "784x1152x128",
    "196x2304x256",
    "49x4608x512",
    "49x512x2048r",
    "12544x147x64",
    "1x2048x1000",
]


def set_amx(on: bool) -> None:
    gemm = tfjs_infer.build_info()["cpu"]["gemm"]
    T.set_gemm_blocking(**dict(gemm, int8_amx=1 if on else 0))


def ab(run: Callable[[], object], rounds: int) -> tuple[float, float, bool]:
    """Median seconds of run() with AMX and with VNNI, and bitwise equality."""
    outs = {}
    for on in (True, False):
        set_amx(on)
        outs[on] = np.asarray(run())
    times: dict[bool, list[float]] = {True: [], False: []}
    for r in range(rounds):
        for on in (True, False) if r % 2 == 0 else (False, True):
            set_amx(on)
            t0 = time.thread_time()
            run()
            times[on].append(time.thread_time() - t0)
    set_amx(True)
    same = np.array_equal(outs[True], outs[False], equal_nan=True)
    return statistics.median(times[True]), statistics.median(times[False]), same


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shapes", nargs="*", default=SHAPES)
    parser.add_argument("--models", nargs="*", default=[])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--reps", type=int, default=20)
    args = parser.parse_args()
    run_header("int8_amx_ab.py")
    if not tfjs_infer.build_info()["amx_int8"]:
        sys.exit("no AMX-INT8 here: " + tfjs_infer.build_info()["amx_status"])
    rng = np.random.default_rng(0)
    print(f"{'case':<24} {'AMX ms':>9} {'VNNI ms':>9} {'AMX/VNNI':>9}  same bits")
    for shape in args.shapes:
        res = shape.endswith("r")
        m, k, n = (int(v) for v in shape.rstrip("r").split("x"))
        a = np.maximum(rng.standard_normal((m, k)), -0.3).astype(np.float32)
        b = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
        packed = np.asarray(T.lowp_pack("int8", b))
        residual = rng.standard_normal((m, n)).astype(np.float32) if res else None

        run_gemm = functools.partial(
            T.gemm_lowp,
            "avx512",
            "int8",
            a,
            b,
            residual=residual,
            act="relu",
            prepacked=packed,
            reps=args.reps,
        )
        t_amx, t_vnni, same = ab(run_gemm, args.rounds)
        print(
            f"{shape:<24} {1e3 * t_amx / args.reps:9.3f} {1e3 * t_vnni / args.reps:9.3f} "
            f"{t_amx / t_vnni:9.3f}  {same}",
            flush=True,
        )
    for name in args.models:
        folder = HERE / ".models" / name
        path = folder / "tfjs" / "model.json"
        model = tfjs_infer.load_model(
            path if path.exists() else folder / "model.h5", num_threads=1, precision="int8"
        )
        shape = [args.batch, *list(model.inputs[0].shape[1:])]
        x = rng.standard_normal(shape).astype(np.float32)
        run_model = functools.partial(model.predict, x, batch_size=args.batch)
        t_amx, t_vnni, same = ab(run_model, args.rounds)
        print(
            f"{name + ' b' + str(args.batch):<24} {1e3 * t_amx:9.2f} {1e3 * t_vnni:9.2f} "
            f"{t_amx / t_vnni:9.3f}  {same}",
            flush=True,
        )
    print("load average at end:", " ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
