"""Pooling, upsampling and padding ops: tfjs_infer (every built ISA) beside
onnxruntime's MaxPool / AveragePool / GlobalAveragePool / Resize / Pad on the
same data, interleaved round by round; medians in microseconds and the
memory traffic (input + output bytes) per second.

    python bench/pooling.py                # 1 thread
    python bench/pooling.py --threads 2
    python bench/pooling.py --reps 301

tfjs_infer runs a one-op core graph (channels-last, NHWC); onnxruntime runs the
equivalent node on the transposed NCHW tensor (its native layout), with the
same intra-op thread count. Nothing here is asserted.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import header

import tfjs_infer
from tfjs_infer import _core

# name, NHWC shape, tfjs_infer op and attrs, ONNX op and attrs (None: no peer)
CASES = [
    (
        "maxpool 2x2/2",
        (1, 112, 112, 64),
        "pool",
        {"mode": "max", "pool_size": [2, 2], "strides": [2, 2], "padding": "valid"},
        ("MaxPool", {"kernel_shape": [2, 2], "strides": [2, 2]}),
    ),
    (
        "maxpool 3x3/2 same",
        (1, 112, 112, 64),
        "pool",
        {"mode": "max", "pool_size": [3, 3], "strides": [2, 2], "padding": "same"},
        ("MaxPool", {"kernel_shape": [3, 3], "strides": [2, 2], "auto_pad": "SAME_UPPER"}),
    ),
    (
        "avgpool 3x3/1 same",
        (1, 56, 56, 256),
        "pool",
        {"mode": "avg", "pool_size": [3, 3], "strides": [1, 1], "padding": "same"},
        ("AveragePool", {"kernel_shape": [3, 3], "strides": [1, 1], "auto_pad": "SAME_UPPER"}),
    ),
    (
        "maxpool 2x2/2 b32 C=32",
        (32, 28, 28, 32),
        "pool",
        {"mode": "max", "pool_size": [2, 2], "strides": [2, 2], "padding": "valid"},
        ("MaxPool", {"kernel_shape": [2, 2], "strides": [2, 2]}),
    ),
    (
        "global avg 7x7x1280",
        (1, 7, 7, 1280),
        "global_pool",
        {"mode": "avg"},
        ("GlobalAveragePool", {}),
    ),
    ("global avg b32", (32, 7, 7, 1280), "global_pool", {"mode": "avg"}, ("GlobalAveragePool", {})),
    (
        "upsample nearest x2",
        (1, 56, 56, 64),
        "upsample",
        {"repeats": [2, 2, 1]},
        (
            "Resize",
            {
                "mode": "nearest",
                "nearest_mode": "floor",
                "coordinate_transformation_mode": "asymmetric",
            },
        ),
    ),
    (
        "upsample bilinear x2",
        (1, 56, 56, 64),
        "resize",
        {"method": "bilinear", "coords": "half_pixel", "scale": [2, 2]},
        ("Resize", {"mode": "linear", "coordinate_transformation_mode": "half_pixel"}),
    ),
    ("zero pad 1", (1, 112, 112, 32), "pad", {"begin": [1, 1, 0], "end": [1, 1, 0]}, ("Pad", {})),
]


def ours(op: str, shape, attrs, isa: str, threads: int):
    g = _core.Graph()
    x = g.add_input("x", [None, *shape[1:]], "float32")
    g.set_outputs(g.add_op(op, "op", [x], attrs, {}))
    model = _core.CompiledModel(g, isa=isa, num_threads=threads, optimize=False)
    return lambda a: model.run([a])[0]


def peer(onnx_op, shape, threads: int):
    try:
        import onnxruntime as ort
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        return None
    op, attrs = onnx_op
    nchw = (shape[0], shape[3], shape[1], shape[2])
    inits, inputs = [], ["x"]
    if op == "Resize":
        inits.append(numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales"))
        inputs += ["", "scales"]
    if op == "Pad":
        inits.append(numpy_helper.from_array(np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64), "pads"))
        inputs += ["pads"]
    node = helper.make_node(op, inputs, ["y"], **attrs)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, nchw)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return lambda a: sess.run(None, {"x": a})[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=151)
    args = ap.parse_args()
    header()
    isas = tfjs_infer.available_isas()
    cols = [*isas, "onnxruntime"]
    print(f"threads={args.threads}; medians in us (GB/s of input+output traffic)")
    print(f"{'case':24s} {'shape (NHWC)':20s} " + " ".join(f"{c:>20s}" for c in cols))
    rng = np.random.default_rng(0)
    for name, shape, op, attrs, onnx_op in CASES:
        x = rng.standard_normal(shape).astype(np.float32)
        xc = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        runs = {isa: (ours(op, shape, attrs, isa, args.threads), x) for isa in isas}
        p = peer(onnx_op, shape, args.threads)
        if p is not None:
            runs["onnxruntime"] = (p, xc)
        out_bytes = {k: f(a).nbytes for k, (f, a) in runs.items()}
        times: dict[str, list[float]] = {k: [] for k in runs}
        order = list(runs)
        for r in range(args.reps):
            for k in order if r % 2 == 0 else order[::-1]:
                f, a = runs[k]
                t = time.perf_counter()
                f(a)
                times[k].append(time.perf_counter() - t)
        cells = []
        for c in cols:
            if c not in times:
                cells.append(f"{'not installed':>20s}")
                continue
            us = float(np.median(times[c])) * 1e6
            gbs = (x.nbytes + out_bytes[c]) / us / 1e3
            cells.append(f"{us:9.1f} ({gbs:5.1f} GB/s)")
        print(f"{name:24s} {shape!s:20s} " + " ".join(cells))


if __name__ == "__main__":
    main()
