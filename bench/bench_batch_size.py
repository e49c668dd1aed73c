"""predict's automatic batch size: ``predict(x)`` (the default, rows per call
from the memory budget) against the old default ``predict(x, batch_size=32)``
and onnxruntime on the whole batch, at several input sizes; and the peak
memory of the default on large inputs, measured in fresh processes.

    python bench/bench_batch_size.py [--models digits,mlp,mobilenet_v2]
        [--models-dir bench/.models] [--threads 1] [--rounds 5] [--memory]

Models: the bundled digits MLP (64-64-10; onnxruntime runs the same weights
as an ONNX Dense stack), and the MLP 784-512-512-10 and MobileNetV2 of
bench/make_bench_models.py (their model.onnx beside). Rows per model:
digits 256, 4096, 1M; MLP 256, 4096, 65536 (1M rows of 784 floats would
take 3 GB); MobileNetV2 16 and 256 images.

Each round runs every candidate once, in alternating order; the figures are
medians of wall time, with the process's CPU time beside (with one thread it
is what the machine's load disturbs least).

``--memory``: peak growth of anonymous resident memory (sampled every
millisecond from /proc/self/status, Linux) during one ``predict(x)`` of 1M
digits rows and of 10k MobileNetV2 images: the default, a 16 MiB budget, and
the old default. The
MobileNetV2 images are zeros (calloc'd, never written: they take no memory,
so 10k of them fit any machine); the result's own size is subtracted.
"planned/call" is what the budget weighs: the core's planned workspace for
one call plus that call's outputs. A workspace made before the call (the
batch-1 one made at load) does not count as growth.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from _harness import header, onnx_dense_session, ort_session

import tfjs_infer

HERE = Path(__file__).resolve().parent
ROWS = {"digits": [256, 4096, 1 << 20], "mlp": [256, 4096, 65536], "mobilenet_v2": [16, 256]}


def _digits() -> tuple[Path, dict[str, np.ndarray]]:
    """The bundled digits model and its weights as an onnxruntime Dense stack."""
    from tfjs_infer.io import read_model

    path = tfjs_infer.examples.digits_path()
    spec = read_model(path)
    weights = {
        f"dense_{i}/{part}": spec.weights[f"{layer}/{part}"]
        for i, layer in enumerate(("hidden", "probs"))
        for part in ("kernel", "bias")
    }
    return path, weights


def _engines(name: str, models_dir: Path, threads: int) -> tuple[tfjs_infer.Model, Callable | None]:
    if name == "digits":
        path, weights = _digits()
        model = tfjs_infer.load_model(path, num_threads=threads)
        return model, onnx_dense_session(weights, ["relu", "softmax"], threads)
    folder = models_dir / name
    model = tfjs_infer.load_model(folder / "tfjs" / "model.json", num_threads=threads)
    return model, _ort_file(folder / "model.onnx", threads)


def _ort_file(path: Path, threads: int) -> Callable | None:
    try:
        import onnxruntime  # noqa: F401  (installed?)
    except ImportError:
        return None
    if not path.exists():
        return None
    sess = ort_session(path, threads)
    in_name = sess.get_inputs()[0].name
    return lambda x: sess.run(None, {in_name: x})[0]


def _interleave(cands: dict[str, Callable], rounds: int) -> dict[str, tuple[float, float]]:
    """Median (wall, cpu) seconds per candidate; one warm-up call each, then
    `rounds` rounds running every candidate once, the order reversed each round."""
    for fn in cands.values():
        fn()
    wall: dict[str, list[float]] = {k: [] for k in cands}
    cpu: dict[str, list[float]] = {k: [] for k in cands}
    names = list(cands)
    for r in range(rounds):
        for k in names if r % 2 == 0 else names[::-1]:
            w, c = time.perf_counter(), time.process_time()
            cands[k]()
            wall[k].append(time.perf_counter() - w)
            cpu[k].append(time.process_time() - c)
    return {k: (float(np.median(wall[k])), float(np.median(cpu[k]))) for k in cands}


def bench_speed(name: str, models_dir: Path, threads: int, rounds: int) -> None:
    model, ort = _engines(name, models_dir, threads)
    shape = model.inputs[0].shape[1:]
    rng = np.random.default_rng(0)
    print(
        f"\n{name}, {threads} thread(s): median ms per predict (wall / process CPU), "
        "ratios wall/CPU"
    )
    print(
        f"{'rows':>8} {'rows/call':>9} {'before bs=32':>17} {'after default':>17} "
        f"{'onnxruntime':>17} {'after/before':>14} {'after/ort':>11}"
    )
    for rows in ROWS[name]:
        x = rng.standard_normal((rows, *shape)).astype(np.float32)
        if name == "digits":
            x = np.abs(x)  # pixel intensities
        cands = {
            "before": lambda x=x: model.predict(x, batch_size=32),
            "after": lambda x=x: model.predict(x),
        }
        if ort is not None:
            np.testing.assert_allclose(model.predict(x[:64]), ort(x[:64]), rtol=1e-3, atol=1e-4)
            cands["ort"] = lambda x=x: ort(x)
        t = _interleave(cands, rounds)
        per_call = min(rows, model.auto_batch_size(x[:1]))
        cells = [f"{t[k][0] * 1e3:8.2f} /{t[k][1] * 1e3:7.2f}" for k in ("before", "after")]
        cells.append(f"{t['ort'][0] * 1e3:8.2f} /{t['ort'][1] * 1e3:7.2f}" if "ort" in t else "-")
        ratio_ort = _ratios(t["after"], t["ort"]) if "ort" in t else "-"
        print(
            f"{rows:>8} {per_call:>9} {cells[0]:>17} {cells[1]:>17} {cells[2]:>17} "
            f"{_ratios(t['after'], t['before']):>14} {ratio_ort:>11}"
        )


def _ratios(a: tuple[float, float], b: tuple[float, float]) -> str:
    """Wall and CPU ratios, "wall/cpu"."""
    return f"{a[0] / b[0]:.2f}/{a[1] / b[1]:.2f}"


_MEMORY_CHILD = """
import json, sys, threading, time
import numpy as np
import tfjs_infer

path, rows, kwargs, zeros, threads = sys.argv[1:6]
rows, kwargs, threads = int(rows), json.loads(kwargs), int(threads)

def anon():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("RssAnon:"))

model = tfjs_infer.load_model(path, num_threads=threads)
shape = model.inputs[0].shape[1:]
if zeros == "1":
    x = np.zeros((rows, *shape), np.float32)  # never written: no resident pages
else:
    x = np.random.default_rng(0).random((rows, *shape), dtype=np.float32)
peak, done = [anon()], threading.Event()
def sample():
    while not done.is_set():
        peak[0] = max(peak[0], anon())
        time.sleep(0.001)
start = anon()
sampler = threading.Thread(target=sample)
sampler.start()
t = time.perf_counter()
y = model.predict(x, **kwargs)
seconds = time.perf_counter() - t
done.set()
sampler.join()
peak[0] = max(peak[0], anon())
budget = kwargs.get("memory_budget")
per_call = kwargs.get("batch_size") or min(rows, model.auto_batch_size(x[:1], budget))
planned = model._core.workspace_bytes([[per_call, *shape]]) + y[:per_call].nbytes
print(json.dumps({"grew": peak[0] - start, "out": y.nbytes, "seconds": seconds,
                  "rows_per_call": per_call, "planned": planned}))
"""


def bench_memory(models_dir: Path, threads: int, digits_rows: int, images: int) -> None:
    cases = [("digits", str(tfjs_infer.examples.digits_path()), digits_rows, "0")]
    mobilenet = models_dir / "mobilenet_v2" / "tfjs" / "model.json"
    if mobilenet.exists():
        cases.append(("mobilenet_v2", str(mobilenet), images, "1"))
    budget = tfjs_infer.load_model(tfjs_infer.examples.digits_path()).memory_budget
    print(f"\npeak memory growth during predict, {threads} thread(s), default budget {budget:,} B")
    print(
        f"{'model':>13} {'rows':>8} {'call':>18} {'rows/call':>9} {'planned/call':>12} "
        f"{'growth - result':>16} {'result':>12} {'seconds':>8}"
    )
    for name, path, rows, zeros in cases:
        for label, kwargs in (
            ("after: default", {}),
            ("after: 16M budget", {"memory_budget": "16M"}),
            ("before: bs=32", {"batch_size": 32}),
        ):
            proc = subprocess.run(
                [sys.executable, "-c", _MEMORY_CHILD, path, str(rows), json.dumps(kwargs), zeros,
                 str(threads)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            r = json.loads(proc.stdout)
            print(
                f"{name:>13} {rows:>8} {label:>18} {r['rows_per_call']:>9} "
                f"{r['planned'] / 2**20:8.2f} MiB "
                f"{(r['grew'] - r['out']) / 2**20:12.2f} MiB {r['out'] / 2**20:8.1f} MiB "
                f"{r['seconds']:8.2f}"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="digits,mlp,mobilenet_v2")
    ap.add_argument("--models-dir", type=Path, default=HERE / ".models")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--memory", action="store_true", help="measure peak memory instead")
    ap.add_argument("--memory-rows", type=int, default=1_000_000, help="digits rows")
    ap.add_argument("--memory-images", type=int, default=10_000, help="MobileNetV2 images")
    args = ap.parse_args()
    header()
    print(f"load average at the start: {os.getloadavg()[0]:.2f}")
    if args.memory:
        bench_memory(args.models_dir, args.threads, args.memory_rows, args.memory_images)
    else:
        for name in args.models.split(","):
            if name != "digits" and not (args.models_dir / name / "tfjs").exists():
                print(f"\n{name}: no model files in {args.models_dir} (bench/make_bench_models.py)")
                continue
            bench_speed(name, args.models_dir, args.threads, args.rounds)
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
