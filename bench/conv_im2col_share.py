"""3x3 convolutions: im2col + GEMM against the implicit GEMM and the bare GEMM.

    python bench/conv_im2col_share.py [--rounds 41] [--isa avx512]
    python bench/conv_im2col_share.py --models resnet50,mobilenet_v2 [--threads 1]
    python bench/conv_im2col_share.py --models resnet50 --profile

For the stride-1 'same' 3x3 convolutions of ResNet50 (batch 1), times, one
thread, interleaved in one process, thread CPU time (time.thread_time), medians:
  conv  the conv2d op as a model runs it by default (im2col tiles into scratch
        + the GEMM, relu epilogue, bias),
  impl  the same op built with TFJS_INFER_CONV_IMPLICIT=1 (a zero-padded copy
        of the input, the GEMM reading each pixel's window in place),
  gemm  the bare packed-B GEMM on the already im2col'd A (m = out pixels,
        k = 9 cin, n = cout), same packed weights, bias and relu, one call.
conv - gemm is what gathering A (and the op's tiling) costs: an implicit GEMM
(A rows read from the input through tap pointers instead of a gathered copy)
can save at most that, and only if its microkernel loses nothing to the
pointer-based A reads. Weights are warm in both (the same B every call).
With --models: whole models of bench/.models (bench/make_bench_models.py),
each loaded twice (TFJS_INFER_CONV_IMPLICIT=0 and =1), predict on the bench
input interleaved (order alternating per round), medians of thread CPU time
(1 thread) and wall time; outputs checked equal bit for bit first. With
--profile: model.profile(x) both ways instead (interleaved, medians of
--rounds profiles of 10 calls, wall time), each conv2d op's time.
Prints the command, the CPU model and the load average.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from _harness import cpu_line

import tfjs_infer
from tfjs_infer import _core

LAYERS = [  # (title, H, W, cin, cout, kernel, stride, pads): ResNet50's im2col-able convs
    ("conv1 7x7/2 3 @224", 224, 224, 3, 64, 7, 2, 3),
    ("conv2 3x3 64 @56", 56, 56, 64, 64, 3, 1, 1),
    ("conv3 3x3 128 @28", 28, 28, 128, 128, 3, 1, 1),
    ("conv4 3x3 256 @14", 14, 14, 256, 256, 3, 1, 1),
    ("conv5 3x3 512 @7", 7, 7, 512, 512, 3, 1, 1),
    ("conv3 1x1/2 256>512", 56, 56, 256, 512, 1, 2, 0),
    ("conv3 1x1/2 256>128", 56, 56, 256, 128, 1, 2, 0),
    ("conv4 1x1/2 512>1024", 28, 28, 512, 1024, 1, 2, 0),
    ("conv4 1x1/2 512>256", 28, 28, 512, 256, 1, 2, 0),
    ("conv5 1x1/2 1024>2048", 14, 14, 1024, 2048, 1, 2, 0),
    ("conv5 1x1/2 1024>512", 14, 14, 1024, 512, 1, 2, 0),
]


def im2col(x: np.ndarray, k: int, stride: int, pad: int) -> np.ndarray:
    """(H, W, C) -> (OH OW, k k C), k ordered (ky, kx, c) as the kernel's HWIO
    rows; `pad` zeros on every side."""
    h, w, c = x.shape
    p = np.zeros((h + 2 * pad, w + 2 * pad, c), np.float32)
    p[pad : pad + h, pad : pad + w] = x
    oh, ow = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
    cols = [
        p[ky : ky + (oh - 1) * stride + 1 : stride, kx : kx + (ow - 1) * stride + 1 : stride]
        for ky in range(k)
        for kx in range(k)
    ]
    return np.ascontiguousarray(np.concatenate(cols, axis=2).reshape(oh * ow, k * k * c))


def bench_layer(layer: tuple, args, rng) -> None:
    """Times one layer's three candidates, interleaved; prints its row."""
    title, h, w, cin, cout, k, stride, pad = layer
    kernel = (rng.standard_normal((k, k, cin, cout)) * 0.05).astype(np.float32)
    bias = (rng.standard_normal(cout) * 0.1).astype(np.float32)
    g = _core.Graph()
    xin = g.add_input("x", [None, h, w, cin], "float32")
    attrs = {"strides": [stride, stride], "activation": "relu"}
    attrs.update(padding="explicit", pads=[pad] * 4) if pad else attrs.update(padding="valid")
    (y,) = g.add_op("conv2d", title, [xin], attrs, {"kernel": kernel, "bias": bias})
    g.set_outputs([y])
    os.environ["TFJS_INFER_CONV_IMPLICIT"] = "0"  # read when the op is built
    model = _core.CompiledModel(g, num_threads=1)
    os.environ["TFJS_INFER_CONV_IMPLICIT"] = "1"
    implicit = _core.CompiledModel(g, num_threads=1)
    del os.environ["TFJS_INFER_CONV_IMPLICIT"]
    x = rng.standard_normal((1, h, w, cin)).astype(np.float32)
    a = im2col(x[0], k, stride, pad)
    packed = _core._testing.pack_b(args.isa, kernel.reshape(k * k * cin, cout))
    out = np.empty((a.shape[0], cout), np.float32)
    ref = model.run([x])[0].reshape(a.shape[0], cout)
    got = _core._testing.gemm(args.isa, a, packed, bias=bias, act="relu", out=out)
    assert np.array_equal(ref, got), "gemm on the im2col'd A must equal the conv bit for bit"
    got = implicit.run([x])[0].reshape(a.shape[0], cout)
    assert np.array_equal(ref, got), "the implicit GEMM must equal the conv bit for bit"
    runs = {
        "conv": lambda: model.run([x]),
        "impl": lambda: implicit.run([x]),
        "gemm": lambda: _core._testing.gemm(args.isa, a, packed, bias=bias, act="relu", out=out),
    }
    times: dict[str, list[float]] = {name: [] for name in runs}
    order = list(runs)
    for r in range(args.rounds):
        for name in order if r % 2 == 0 else order[::-1]:
            t0 = time.thread_time()
            runs[name]()
            times[name].append(time.thread_time() - t0)
    c_us, i_us, g_us = (float(np.median(times[n])) * 1e6 for n in ("conv", "impl", "gemm"))
    print(
        f"{title:>22} {c_us:9.1f} {i_us:9.1f} {i_us / c_us:8.3f} {g_us:9.1f} "
        f"{c_us - g_us:10.1f} {(c_us - g_us) / c_us:6.1%}"
    )


def profile_model(name: str, models: dict, x: np.ndarray, rounds: int) -> None:
    """Per-op medians of model.profile both ways; prints the conv2d ops."""
    runs: dict[str, list] = {"0": [], "1": []}
    for r in range(rounds):
        for flag in ("0", "1") if r % 2 == 0 else ("1", "0"):
            runs[flag].append(models[flag].profile(x, rounds=10))
    total = {"0": 0.0, "1": 0.0}
    print(f"{name}: {'op':>24} {'im2col us':>10} {'impl us':>9} {'ratio':>6}")
    for i, row in enumerate(runs["0"][0]):
        us = {f: float(np.median([p[i]["us"] for p in runs[f]])) for f in runs}
        total = {f: total[f] + us[f] for f in runs}
        if row["type"] == "conv2d":
            print(
                f"{'':>{len(name) + 1}} {row['name']:>24} {us['0']:10.1f} {us['1']:9.1f} "
                f"{us['1'] / us['0']:6.3f}"
            )
    print(
        f"{name}: all ops {total['0'] / 1e3:.2f} ms -> {total['1'] / 1e3:.2f} ms "
        f"({total['1'] / total['0']:.3f})"
    )


def bench_models(names: list[str], args) -> None:
    """Whole models, im2col against implicit, interleaved in this process."""
    folder = Path(__file__).resolve().parent / ".models"
    print(f"batch {args.batch}, {args.threads} thread(s)")
    print(f"{'model':>14} {'im2col ms':>10} {'impl ms':>9} {'impl/im2col':>11} {'wall ratio':>10}")
    for name in names:
        x = np.load(folder / name / "input.npy")[: args.batch]
        models = {}
        for flag in ("0", "1"):
            os.environ["TFJS_INFER_CONV_IMPLICIT"] = flag  # read when the ops are built
            models[flag] = tfjs_infer.load_model(
                folder / name / "tfjs" / "model.json", num_threads=args.threads
            )
        del os.environ["TFJS_INFER_CONV_IMPLICIT"]
        ref, got = (models[f].predict(x) for f in ("0", "1"))
        assert np.array_equal(ref, got), f"{name}: the implicit path changed the output"
        if args.profile:
            profile_model(name, models, x, args.rounds)
            continue
        cpu: dict[str, list[float]] = {"0": [], "1": []}
        wall: dict[str, list[float]] = {"0": [], "1": []}
        for r in range(args.rounds):
            for flag in ("0", "1") if r % 2 == 0 else ("1", "0"):
                c0, w0 = time.thread_time(), time.perf_counter()
                models[flag].predict(x)
                cpu[flag].append(time.thread_time() - c0)
                wall[flag].append(time.perf_counter() - w0)
        c = {f: float(np.median(v)) * 1e3 for f, v in cpu.items()}
        w = {f: float(np.median(v)) * 1e3 for f, v in wall.items()}
        ratio_cpu, ratio_wall = c["1"] / c["0"], w["1"] / w["0"]
        print(f"{name:>14} {c['0']:10.2f} {c['1']:9.2f} {ratio_cpu:11.3f} {ratio_wall:10.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=41)
    ap.add_argument("--isa", default=tfjs_infer.build_info()["isa_selected"])
    ap.add_argument("--models", help="comma-separated bench models instead of the layers")
    ap.add_argument("--threads", type=int, default=1, help="--models: threads per model")
    ap.add_argument("--batch", type=int, default=1, help="--models: images per predict")
    ap.add_argument("--profile", action="store_true", help="--models: per-op profiles")
    ap.add_argument("--layers", help="only the layers whose title holds one of these (comma list)")
    args = ap.parse_args()
    print("command:", " ".join([os.path.basename(sys.executable), *sys.argv]))
    print(cpu_line(), "| isa:", args.isa, "| load average:", os.getloadavg())
    if args.models:
        bench_models(args.models.split(","), args)
        print("load average after:", os.getloadavg())
        return
    rng = np.random.default_rng(0)
    print(
        f"{'layer':>22} {'conv us':>9} {'impl us':>9} {'impl/cv':>8} {'gemm us':>9} "
        f"{'conv-gemm':>10} {'share':>6}"
    )
    for layer in LAYERS:
        if not args.layers or any(part in layer[0] for part in args.layers.split(",")):
            bench_layer(layer, args, rng)
    print("load average after:", os.getloadavg())


if __name__ == "__main__":
    main()
