"""Convolutions with short kernel rows (kw x cin under 12 floats): implicit GEMM
against im2col, per kernel table.

    python bench/conv_thin_implicit.py [--rounds 41] [--batch 1] [--isa avx512,avx2]

The first layers of image models read 1 to 3 channels, so a kernel row (the kw
taps of one window row, kw x cin floats: the run the implicit GEMM reads in
place through a row pointer) is 3 to 15 floats long. For each layer below,
the op is built twice in one process, with TFJS_INFER_CONV_IMPLICIT_MIN=1
(windows read in place at any row length) and =1000 (im2col tiles), outputs
checked equal bit for bit, then run taking turns (order reversed each round),
one thread, thread CPU time (time.thread_time), medians. A ratio below 1: the
implicit GEMM is faster. Prints the command, the CPU model and the load
average. The rules it informs (conv_base.h): min_implicit_segment for
windows read in the input itself ('valid' layers here), kMinCopySegment for
windows read from a zero-padded copy ('same' layers here). Alone, as here, the
padded copy stays in cache from call to call; inside a model it is cold (on
Zen 4 MobileNetV2's first layer measured 0.98 here but 1.01-1.06 of im2col's
time in the model), so compare a model's `profile` too before changing the
copy's rule.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from _harness import run_header

import tfjs_infer
from tfjs_infer import _core

ENV = "TFJS_INFER_CONV_IMPLICIT_MIN"

# (title, H = W, cin, cout, kernel, stride, padding, fused 2x2 max pooling)
LAYERS = [
    ("MobileNetV2 Conv1 3x3/2 c3", 224, 3, 32, 3, 2, "same", False),
    ("3x3 c3 same @112", 112, 3, 32, 3, 1, "same", False),
    ("MNIST conv1 3x3 c1", 28, 1, 32, 3, 1, "valid", False),
    ("MNIST conv1 3x3 c1 + pool", 28, 1, 32, 3, 1, "valid", True),
    ("3x3 c2 same @56", 56, 2, 16, 3, 1, "same", False),
    ("5x5 c1 same @28", 28, 1, 32, 5, 1, "same", False),
]


def build(layer: tuple, isa: str, min_segment: str, rng: np.random.Generator):
    """The layer as a one-op model on table `isa`, with the given minimum."""
    title, hw, cin, cout, k, stride, padding, pool = layer
    weights = {
        "kernel": (rng.standard_normal((k, k, cin, cout)) * 0.1).astype(np.float32),
        "bias": (rng.standard_normal(cout) * 0.1).astype(np.float32),
    }
    g = _core.Graph()
    x = g.add_input("x", [None, hw, hw, cin], "float32")
    attrs = {"strides": [stride, stride], "padding": padding, "activation": "relu"}
    if pool:
        attrs.update(pool_mode="max", pool_size=[2, 2])
    (y,) = g.add_op("conv2d_pool" if pool else "conv2d", title, [x], attrs, weights)
    g.set_outputs([y])
    os.environ[ENV] = min_segment  # read when the op is built
    try:
        return _core.CompiledModel(g, isa=isa, num_threads=1)
    finally:
        del os.environ[ENV]


def bench_layer(layer: tuple, isa: str, args: argparse.Namespace) -> None:
    hw, cin = layer[1], layer[2]
    models = {
        name: build(layer, isa, value, np.random.default_rng(0))
        for name, value in (("im2col", "1000"), ("implicit", "1"))
    }
    x = np.random.default_rng(1).standard_normal((args.batch, hw, hw, cin)).astype(np.float32)
    outs = [m.run([x])[0] for m in models.values()]
    assert np.array_equal(outs[0], outs[1]), f"{layer[0]}: the two paths differ"
    times: dict[str, list[float]] = {name: [] for name in models}
    order = list(models)
    for r in range(args.rounds):
        for name in order if r % 2 == 0 else order[::-1]:
            t0 = time.thread_time()
            models[name].run([x])
            times[name].append(time.thread_time() - t0)
    a, b = (float(np.median(times[n])) * 1e6 for n in order)
    print(f"{isa:>7} {layer[0]:>28} {a:10.1f} {b:10.1f} {b / a:7.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=41)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument(
        "--isa", default=",".join(i for i in tfjs_infer.available_isas() if i != "generic")
    )
    args = ap.parse_args()
    run_header("conv_thin_implicit.py")
    print(f"batch {args.batch}, 1 thread, thread CPU time, medians of {args.rounds} rounds")
    print(f"{'isa':>7} {'layer':>28} {'im2col us':>10} {'impl us':>10} {'ratio':>7}")
    for isa in args.isa.split(","):
        for layer in LAYERS:
            bench_layer(layer, isa, args)
    print("load average after:", " ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
