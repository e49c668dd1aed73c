"""The fused small convolution + pooling kernel (kernels' conv_pool_f32,
ops/conv_pool.cpp) against the op's GEMM path (TFJS_INFER_CONV_POOL_DIRECT=0),
one conv2d + 2x2 max pooling layer alone per kernel table, interleaved.

    python bench/conv_pool_direct.py [--layers 28x28x1x32,13x13x32x64] [--batch 32]
        [--isa avx512,avx2] [--rounds 41] [--reps 20]

Each layer (HxWxCINxCOUT: a 3x3 'valid' relu convolution, then 2x2 max
pooling; by default the MNIST CNN's two) is built with the kernel forced on
(TFJS_INFER_CONV_POOL_DIRECT=1: whatever the weight size) and off, per
table; the two take turns every round (order reversed each round), each timing
--reps calls on --batch random images by the thread's CPU time, 1 thread;
prints the medians per layer and table, the ratio and the outputs' equality,
after the command, the CPU model and the load average.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from _harness import run_header

import tfjs_infer
from tfjs_infer import _core


def layer(h: int, w: int, cin: int, cout: int) -> _core.Graph:
    rng = np.random.default_rng(0)
    g = _core.Graph()
    xin = g.add_input("x", [None, h, w, cin], "float32")
    weights = {
        "kernel": (rng.standard_normal((3, 3, cin, cout)) * 0.3).astype(np.float32),
        "bias": rng.standard_normal(cout).astype(np.float32),
    }
    attrs = {"strides": [1, 1], "padding": "valid", "activation": "relu"}
    (v,) = g.add_op("conv2d", "conv", [xin], attrs, weights)
    pool = {"mode": "max", "pool_size": [2, 2], "strides": [2, 2], "padding": "valid"}
    (y,) = g.add_op("pool", "pool", [v], pool, {})
    g.set_outputs([y])
    return g


def timed(model: _core.CompiledModel, x: np.ndarray, reps: int) -> float:
    model.run([x])
    t0 = time.thread_time_ns()
    for _ in range(reps):
        model.run([x])
    return (time.thread_time_ns() - t0) / reps / 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", default="28x28x1x32,13x13x32x64")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--isa", default="avx512,avx2")
    ap.add_argument("--rounds", type=int, default=41)
    ap.add_argument("--reps", type=int, default=20)
    args = ap.parse_args()
    run_header("conv_pool_direct.py")
    isas = [i for i in args.isa.split(",") if i in tfjs_infer.available_isas()]
    for spec in args.layers.split(","):
        h, w, cin, cout = (int(v) for v in spec.split("x"))
        g = layer(h, w, cin, cout)
        x = np.random.default_rng(1).standard_normal((args.batch, h, w, cin)).astype(np.float32)
        for isa in isas:
            models = {}
            for value in ("0", "1"):
                os.environ["TFJS_INFER_CONV_POOL_DIRECT"] = value
                models[value] = _core.CompiledModel(g, isa=isa, num_threads=1)
            os.environ.pop("TFJS_INFER_CONV_POOL_DIRECT")
            times: dict[str, list[float]] = {v: [] for v in models}
            for r in range(args.rounds):
                for v in ("0", "1") if r % 2 == 0 else ("1", "0"):
                    times[v].append(timed(models[v], x, args.reps))
            gemm, direct = (float(np.median(times[v])) for v in ("0", "1"))
            same = np.array_equal(models["0"].run([x])[0], models["1"].run([x])[0])
            print(
                f"{spec:>14} batch {args.batch} {isa:>6}: GEMM path {gemm:8.1f} us, "
                f"fused kernel {direct:8.1f} us ({direct / gemm:.3f}), outputs equal: {same}"
            )
    print("load average after:", " ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
