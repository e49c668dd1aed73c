"""The direct small convolution kernel (kernels' conv_direct_f32,
ops/conv_direct.cpp) against the op's GEMM path (TFJS_INFER_CONV_DIRECT=0),
one conv2d layer alone per kernel table, interleaved. --precision bf16: the
bf16 kernel (conv_direct_bf16, TFJS_INFER_CONV_DIRECT_BF16) against the bf16
GEMM path (im2col + gemm_bf16), on the tables with bf16 kernels.

    python bench/conv_direct.py [--layers 224x224x3x32s2,224x224x3x64k7s2]
        [--batch 1] [--isa avx512,avx2] [--rounds 41] [--reps 20] [--threads 1]
        [--precision fp32|bf16]

Each layer (HxWxCINxCOUT, then k<K> the kernel size, default 3, s<S> the
stride, default 1; 'same' padding, relu6; by default MobileNetV2's first layer
and ResNet50's 7x7 stride-2 one) is built with the kernel forced on
(TFJS_INFER_CONV_DIRECT=1: whatever the weight size) and off, per table; the
two take turns every round (order reversed each round), each timing --reps
calls on --batch random images by the thread's CPU time (--threads 1) or
wall time (more threads); prints the medians per layer and table, the
ratio, GFLOP/s and the outputs' equality, after the command, the CPU model
and the load average.
"""

from __future__ import annotations

import argparse
import os
import re
import time

import numpy as np
from _harness import run_header

import tfjs_infer
from tfjs_infer import _core


def parse(spec: str) -> tuple[int, int, int, int, int, int]:
    m = re.fullmatch(r"(\d+)x(\d+)x(\d+)x(\d+)(?:k(\d+))?(?:s(\d+))?", spec)
    if not m:
        raise SystemExit(f"bad layer {spec!r}: HxWxCINxCOUT[kK][sS]")
    h, w, cin, cout = (int(v) for v in m.groups()[:4])
    return h, w, cin, cout, int(m.group(5) or 3), int(m.group(6) or 1)


def layer(h: int, w: int, cin: int, cout: int, k: int, s: int) -> _core.Graph:
    rng = np.random.default_rng(0)
    g = _core.Graph()
    xin = g.add_input("x", [None, h, w, cin], "float32")
    weights = {
        "kernel": (rng.standard_normal((k, k, cin, cout)) * 0.3).astype(np.float32),
        "bias": rng.standard_normal(cout).astype(np.float32),
    }
    attrs = {"strides": [s, s], "padding": "same", "activation": "relu6"}
    (y,) = g.add_op("conv2d", "conv", [xin], attrs, weights)
    g.set_outputs([y])
    return g


def timed(model: _core.CompiledModel, x: np.ndarray, reps: int, wall: bool) -> float:
    clock = time.perf_counter_ns if wall else time.thread_time_ns
    model.run([x])
    t0 = clock()
    for _ in range(reps):
        model.run([x])
    return (clock() - t0) / reps / 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", default="224x224x3x32s2,224x224x3x64k7s2")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--isa", default="avx512,avx2")
    ap.add_argument("--rounds", type=int, default=41)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--precision", default="fp32", choices=("fp32", "bf16"))
    args = ap.parse_args()
    env = "TFJS_INFER_CONV_DIRECT" + ("_BF16" if args.precision == "bf16" else "")
    run_header("conv_direct.py")
    isas = [i for i in args.isa.split(",") if i in tfjs_infer.available_isas()]
    wall = args.threads > 1
    for spec in args.layers.split(","):
        h, w, cin, cout, k, s = parse(spec)
        g = layer(h, w, cin, cout, k, s)
        x = np.random.default_rng(1).standard_normal((args.batch, h, w, cin)).astype(np.float32)
        flops = 2 * args.batch * -(-h // s) * -(-w // s) * k * k * cin * cout
        for isa in isas:
            models = {}
            for value in ("0", "1"):
                os.environ[env] = value
                models[value] = _core.CompiledModel(
                    g, isa=isa, num_threads=args.threads, precision=args.precision
                )
            os.environ.pop(env)
            times: dict[str, list[float]] = {v: [] for v in models}
            for r in range(args.rounds):
                for v in ("0", "1") if r % 2 == 0 else ("1", "0"):
                    times[v].append(timed(models[v], x, args.reps, wall))
            gemm, direct = (float(np.median(times[v])) for v in ("0", "1"))
            same = np.array_equal(models["0"].run([x])[0], models["1"].run([x])[0])
            print(
                f"{spec:>18} {args.precision} batch {args.batch} {isa:>6} {args.threads}T: "
                f"GEMM path {gemm:8.1f} us ({flops / gemm / 1e3:5.1f} GFLOP/s), "
                f"direct {direct:8.1f} us ({flops / direct / 1e3:5.1f}) "
                f"ratio {direct / gemm:.3f}, outputs equal: {same}"
            )
    print("load average after:", " ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
