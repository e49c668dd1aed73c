"""Image models: tfjs_infer beside onnxruntime and TF.js (wasm) on the same weights.

    python bench/bench_conv.py [--threads 1,2] [--rounds 15] [--models ...] [--no-tfjs]
                               [--layers-only | --no-layers]

Models: MobileNetV1 0.25 and MobileNetV2 1.0 at 224x224 (batch 1 and 32),
ResNet50 (batch 1), the MNIST CNN (batch 1 and 256), from the shared model set
of bench/make_bench_models.py (bench/.models/<name>/, needs TensorFlow:
``make_bench_models.py --only mobilenet_v1_025,mobilenet_v2,resnet50,mnist_cnn``).
tfjs_infer loads the Keras model.h5 (the tensorflowjs conversion of
MobileNetV1 cannot run as TF.js: TF.js ignores GlobalAveragePooling2D's
keepdims, which keras.applications' MobileNet relies on); onnxruntime (CPU
EP, same intra-op thread count, sequential) runs tf2onnx's export; TF.js runs
the same model.json on its wasm backend in Node (bench/tfjs_wasm_bench.cjs,
its own process) when NODE_PATH reaches @tensorflow/tfjs and
@tensorflow/tfjs-backend-wasm.

Outputs are checked against onnxruntime's before timing. Timing: medians over
interleaved rounds (engines alternate, order reversed each round, so noise
from other processes hits both alike); at 1 thread the median of the calling
thread's CPU time is shown too (both engines then run on the calling thread),
which other load on a shared machine cannot inflate.

The layer section times single convolution ops with the shapes of ResNet50
and MobileNetV2 layers (batch 1, 1 thread, thread CPU time, 64-byte aligned
inputs as the model's arena gives them; each figure includes the ~3 us of a
model call) and reports GFLOP/s against the brief's 117 GFLOP/s per core and
against the FMA peak measured here; depthwise layers also in GB/s of
compulsory traffic.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _harness
import numpy as np
from _harness import header

import tfjs_infer
from tfjs_infer import _core

HERE = Path(__file__).resolve().parent
MODELS = HERE / ".models"
BRIEF_PEAK = 117.0  # GFLOP/s per core quoted by the performance issue (Zen 4)

CASES = {  # name -> batches
    "mobilenet_v1_025": (1, 32),
    "mobilenet_v2": (1, 32),
    "resnet50": (1,),
    "mnist_cnn": (1, 256),
}


def ort_session(folder: Path, threads: int):
    try:
        import onnxruntime  # noqa: F401  (installed?)
    except ImportError:
        return None
    sess = _harness.ort_session(folder / "model.onnx", threads)
    iname = sess.get_inputs()[0].name
    return lambda x: sess.run(None, {iname: x})[0]


def timed(fns: dict, rounds: int, inner: int) -> tuple[dict, dict]:
    """Median wall and thread-CPU seconds per call, interleaved."""
    wall: dict = {n: [] for n in fns}
    cpu: dict = {n: [] for n in fns}
    names = list(fns)
    for fn in fns.values():
        for _ in range(2):
            fn()
    for r in range(rounds):
        for n in names if r % 2 == 0 else names[::-1]:
            t0, c0 = time.perf_counter(), time.thread_time()
            for _ in range(inner):
                fns[n]()
            wall[n].append((time.perf_counter() - t0) / inner)
            cpu[n].append((time.thread_time() - c0) / inner)
    return (
        {n: float(np.median(v)) for n, v in wall.items()},
        {n: float(np.median(v)) for n, v in cpu.items()},
    )


def tfjs_wasm(folder: Path, x: np.ndarray, batches, rounds: int) -> dict | None:
    node = os.environ.get("NODE", "node")
    ok = subprocess.run(
        [node, "-e", "require.resolve('@tensorflow/tfjs-backend-wasm')"], capture_output=True
    )
    if ok.returncode != 0:
        return None
    with tempfile.NamedTemporaryFile(suffix=".bin", delete=False) as f:
        f.write(np.ascontiguousarray(x).tobytes())
    try:
        cmd = [
            node,
            str(HERE / "tfjs_wasm_bench.cjs"),
            str(folder / "tfjs" / "model.json"),
            f.name,
            "x".join(map(str, x.shape)),
            "float32",
            "1",
            str(max(3, rounds // 3)),
            "0",
            ",".join(map(str, batches)),
        ]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    finally:
        os.unlink(f.name)
    return json.loads(res.stdout) if res.returncode == 0 else None


def bench_models(args) -> None:
    for name in args.models:
        folder = MODELS / name
        if not (folder / "model.h5").exists():
            print(f"\n{name}: not built (run bench/make_bench_models.py --only {name})")
            continue
        rows = np.load(folder / "input.npy")
        batches = CASES[name]
        wasm = None if args.no_tfjs else tfjs_wasm(folder, rows, batches, args.rounds)
        wasm_ms = {}
        if wasm:
            for b, v in wasm.get("batches", {}).items():
                wasm_ms[int(b)] = float(np.median(v) if isinstance(v, list) else v) * 1e3
            if 1 in batches and wasm.get("b1"):
                wasm_ms[1] = float(np.median(wasm["b1"])) * 1e3
        for threads in args.threads:
            t0 = time.perf_counter()
            model = tfjs_infer.load_model(folder / "model.h5", num_threads=threads)
            load_ms = (time.perf_counter() - t0) * 1e3
            ort = ort_session(folder, threads)
            check = "not checked (onnxruntime not installed)"
            if ort is not None:
                np.testing.assert_allclose(
                    model.predict(rows[:4]), ort(rows[:4]), rtol=1e-3, atol=1e-5
                )
                check = "outputs checked against onnxruntime"
            print(f"\n{name}, {threads} thread(s) (tfjs_infer load {load_ms:.0f} ms; {check})")
            print(
                f"{'batch':>6} {'tfjs_infer ms':>14} {'img/s':>8} {'ort ms':>9} {'img/s':>8} "
                f"{'ours/ort':>9} {'cpu ours/ort ms':>17} {'tfjs-wasm ms':>13} {'wasm/ours':>10}"
            )
            for batch in batches:
                x = np.ascontiguousarray(np.resize(rows, (batch, *rows.shape[1:])))
                fns = {"ours": lambda x=x, m=model: m.predict_on_batch(x)}
                if ort is not None:
                    fns["ort"] = lambda x=x, o=ort: o(x)
                inner = max(1, int(0.05 / max(1e-4, batch * 2e-3)))
                wall, cpu = timed(fns, args.rounds, inner)
                ours = wall["ours"] * 1e3
                line = f"{batch:>6} {ours:14.2f} {batch / wall['ours']:8.0f}"
                if "ort" in wall:
                    o = wall["ort"] * 1e3
                    line += f" {o:9.2f} {batch / wall['ort']:8.0f} {ours / o:9.2f}"
                    line += (
                        f" {cpu['ours'] * 1e3:8.2f}/{cpu['ort'] * 1e3:<8.2f}"
                        if threads == 1
                        else f" {'-':>17}"
                    )
                else:
                    line += f" {'not installed':>27} {'-':>17}"
                w = wasm_ms.get(batch)
                line += f" {w:13.2f} {w / ours:10.1f}" if w else f" {'-':>13} {'-':>10}"
                print(line)
        if wasm:
            print(f"  (tfjs {wasm.get('tfjs_version')} {wasm.get('backend')}, 1 thread)")


# -- single conv layers ----------------------------------------------------------
LAYERS = [
    # (title, op, input HWC, kernel, cout, stride, padding) ResNet50
    ("resnet conv1 7x7/2", "conv2d", (224, 224, 3), 7, 64, 2, "same"),
    ("resnet 1x1 64->64 @56", "conv2d", (56, 56, 64), 1, 64, 1, "valid"),
    ("resnet 3x3 64->64 @56", "conv2d", (56, 56, 64), 3, 64, 1, "same"),
    ("resnet 1x1 64->256 @56", "conv2d", (56, 56, 64), 1, 256, 1, "valid"),
    ("resnet 3x3 128 @28", "conv2d", (28, 28, 128), 3, 128, 1, "same"),
    ("resnet 3x3 256 @14", "conv2d", (14, 14, 256), 3, 256, 1, "same"),
    ("resnet 1x1 1024->256 @14", "conv2d", (14, 14, 1024), 1, 256, 1, "valid"),
    ("resnet 3x3 512 @7", "conv2d", (7, 7, 512), 3, 512, 1, "same"),
    ("resnet 1x1 512->2048 @7", "conv2d", (7, 7, 512), 1, 2048, 1, "valid"),
    # MobileNetV2
    ("mbv2 conv1 3x3/2 3->32", "conv2d", (224, 224, 3), 3, 32, 2, "same"),
    ("mbv2 expand 24->144 @56", "conv2d", (56, 56, 24), 1, 144, 1, "valid"),
    ("mbv2 project 144->24 @56", "conv2d", (56, 56, 144), 1, 24, 1, "valid"),
    ("mbv2 expand 160->960 @7", "conv2d", (7, 7, 160), 1, 960, 1, "valid"),
    ("mbv2 dw 3x3 96 /2 @112", "depthwise_conv2d", (112, 112, 96), 3, 96, 2, "same"),
    ("mbv2 dw 3x3 144 @56", "depthwise_conv2d", (56, 56, 144), 3, 144, 1, "same"),
    ("mbv2 dw 3x3 576 @14", "depthwise_conv2d", (14, 14, 576), 3, 576, 1, "same"),
    ("mbv2 dw 3x3 960 @7", "depthwise_conv2d", (7, 7, 960), 3, 960, 1, "same"),
]


def aligned(a: np.ndarray) -> np.ndarray:
    """A 64-byte aligned copy, as the model's arena gives every op's input (a
    numpy array is only 16-byte aligned, which splits vector loads)."""
    raw = np.empty(a.nbytes + 64, np.uint8)
    off = -raw.ctypes.data % 64
    out = raw[off : off + a.nbytes].view(np.float32).reshape(a.shape)
    out[...] = a
    return out


def bench_layers(args) -> None:
    peak = None
    isa = tfjs_infer.build_info()["isa_selected"]
    if hasattr(_core, "_testing") and hasattr(_core._testing, "fma_peak"):
        peak = float(np.median([_core._testing.fma_peak(isa, 5_000_000) for _ in range(5)]))
    rng = np.random.default_rng(0)
    print(
        f"\nconvolution layers, batch 1, 1 thread, isa {isa}: GFLOP/s vs the brief's "
        f"{BRIEF_PEAK:.0f} and this core's measured {isa} FMA peak "
        f"({peak:.0f} GFLOP/s)"
        if peak
        else ""
    )
    print(f"{'layer':>28} {'us':>8} {'GFLOP/s':>8} {'%117':>6} {'%peak':>6} {'GB/s':>6}")
    total_flops = total_t = 0.0
    for title, op, (h, w, c), k, cout, s, pad in LAYERS:
        g = _core.Graph()
        xin = g.add_input("x", [None, h, w, c], "float32")
        if op == "conv2d":
            kernel = rng.standard_normal((k, k, c, cout)).astype(np.float32) * 0.05
        else:
            kernel = rng.standard_normal((k, k, c)).astype(np.float32) * 0.3
        attrs = {"strides": [s, s], "padding": pad, "activation": "relu"}
        weights = {"kernel": kernel, "bias": np.zeros(cout, np.float32)}
        (y,) = g.add_op(op, title, [xin], attrs, weights)
        g.set_outputs([y])
        m = _core.CompiledModel(g, num_threads=1)
        x = aligned(rng.standard_normal((1, h, w, c)).astype(np.float32))
        oh, ow = -(-h // s), -(-w // s)
        flops = 2.0 * oh * ow * cout * k * k * (c if op == "conv2d" else 1)
        m.run([x])
        ts = []
        for _ in range(args.rounds * 3):
            c0 = time.thread_time()
            m.run([x])
            ts.append(time.thread_time() - c0)
        t = float(np.median(ts))
        gf = flops / t / 1e9
        traffic = 4.0 * (h * w * c + oh * ow * cout + kernel.size)
        pk = f"{100 * gf / peak:5.0f}%" if peak else f"{'-':>6}"
        print(
            f"{title:>28} {t * 1e6:8.1f} {gf:8.1f} {100 * gf / BRIEF_PEAK:5.0f}% {pk} "
            f"{traffic / t / 1e9:6.1f}"
        )
        if op == "conv2d":
            total_flops += flops
            total_t += t
    print(
        f"{'all conv2d layers above':>28} {total_t * 1e6:8.1f} {total_flops / total_t / 1e9:8.1f}"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--threads", default="1,2")
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--models", nargs="*", default=list(CASES))
    p.add_argument("--no-tfjs", action="store_true")
    p.add_argument("--layers-only", action="store_true")
    p.add_argument("--no-layers", action="store_true")
    args = p.parse_args()
    args.threads = [int(t) for t in args.threads.split(",")]
    header()
    try:
        import onnxruntime

        print(f"onnxruntime {onnxruntime.__version__} (CPU EP)")
    except ImportError:
        print("onnxruntime: not installed")
    print(f"OMP/GOMP env: {({k: v for k, v in os.environ.items() if 'OMP' in k}) or 'none'}")
    if not args.layers_only:
        bench_models(args)
    if not args.no_layers:
        bench_layers(args)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
