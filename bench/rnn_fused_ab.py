"""The recurrent step fused ([x_t | h] . [W; U] + b per step) against the input
projection first (x W + b for all steps, then h U + projection per step),
beside onnxruntime, one process, interleaved.

    python bench/rnn_fused_ab.py [--batch 1,32,256] [--rounds 15]
                                 [--shapes 32x128,128x128,256x128] [--steps 50]

The bench LSTM (bench/.models/lstm: LSTM(128) over 50 steps of 32 features, then
Dense 10; build it with bench/make_bench_models.py) is loaded twice, with
TFJS_INFER_RNN_FUSED=1 and =0 (the switch is read when a model is loaded), and
timed beside its onnxruntime model when both are there. --shapes adds
synthetic LSTMs of FEATURESxUNITS (written here as TF.js model.json, seeded
weights; no onnxruntime peer) to see where the rule (fused where 4 F <= units)
should sit. Each round times every candidate once per batch size, order
reversed each round; figures are medians of the calling thread's CPU time
(time.thread_time: every engine computes on that thread at 1 thread), so time
a loaded host gives other processes does not count. Prints the command, the
CPU model and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from _harness import ort_session, run_header

import tfjs_infer

HERE = Path(__file__).resolve().parent


def write_lstm(folder: Path, feats: int, units: int, steps: int) -> Path:
    """An LSTM(units) over `steps` steps of `feats` features as TF.js model.json."""
    rng = np.random.default_rng(0)
    w = {
        "lstm/kernel": rng.uniform(-1, 1, (feats, 4 * units)) * np.sqrt(3 / feats),
        "lstm/recurrent_kernel": rng.uniform(-1, 1, (units, 4 * units)) * np.sqrt(3 / units),
        "lstm/bias": rng.uniform(-0.5, 0.5, 4 * units),
    }
    layer = {
        "class_name": "LSTM",
        "config": {"name": "lstm", "units": units, "batch_input_shape": [None, steps, feats]},
    }
    specs = [{"name": k, "shape": list(v.shape), "dtype": "float32"} for k, v in w.items()]
    doc = {
        "format": "layers-model",
        "modelTopology": {"class_name": "Sequential", "config": {"name": "m", "layers": [layer]}},
        "weightsManifest": [{"paths": ["w.bin"], "weights": specs}],
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.json").write_text(json.dumps(doc))
    (folder / "w.bin").write_bytes(
        b"".join(np.asarray(v, np.float32).tobytes() for v in w.values())
    )
    return folder / "model.json"


def load_with(path: Path, fused: str) -> tfjs_infer.Model:
    os.environ["TFJS_INFER_RNN_FUSED"] = fused
    try:
        return tfjs_infer.load_model(path, num_threads=1)
    finally:
        del os.environ["TFJS_INFER_RNN_FUSED"]


def batch_of(x: np.ndarray, n: int) -> np.ndarray:
    reps = -(-n // len(x))
    return np.ascontiguousarray(np.tile(x, (reps, 1, 1))[:n])


def predictor(model: tfjs_infer.Model, x: np.ndarray) -> Callable[[], object]:
    return lambda: model.predict(x, batch_size=len(x))


def ort_call(sess, x: np.ndarray) -> Callable[[], object]:
    name = sess.get_inputs()[0].name
    return lambda: sess.run(None, {name: x})


def run_rounds(cands: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Median thread CPU microseconds per call, candidates interleaved."""
    names = list(cands)
    for fn in cands.values():
        fn()
    samples: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        for n in names if r % 2 == 0 else names[::-1]:
            t0 = time.thread_time_ns()
            cands[n]()
            samples[n].append((time.thread_time_ns() - t0) / 1e3)
    return {n: float(np.median(v)) for n, v in samples.items()}


def report(title: str, med: dict[str, float]) -> None:
    base = med["unfused"]
    cells = "  ".join(f"{n} {us:9.1f} us ({us / base:5.3f})" for n, us in med.items())
    extra = (
        f"  fused / onnxruntime {med['fused'] / med['onnxruntime']:.3f}"
        if "onnxruntime" in med
        else ""
    )
    print(f"{title:>28}  {cells}{extra}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--batch", default="1,32,256")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--shapes", default="", help="FEATURESxUNITS,... synthetic LSTMs")
    ap.add_argument("--steps", type=int, default=50, help="steps of the synthetic LSTMs")
    args = ap.parse_args()
    run_header("rnn_fused_ab.py")
    batches = [int(b) for b in args.batch.split(",")]
    print("thread CPU time per call, medians; in brackets: / unfused")
    folder = HERE / ".models" / "lstm"
    if (folder / "tfjs" / "model.json").exists():
        path = folder / "tfjs" / "model.json"
        models = {"fused": load_with(path, "1"), "unfused": load_with(path, "0")}
        x0 = np.load(folder / "input.npy")
        sess = ort_session(folder / "model.onnx", 1) if (folder / "model.onnx").exists() else None
        for n in batches:
            x = batch_of(x0, n)
            cands = {k: predictor(m, x) for k, m in models.items()}
            if sess is not None:
                cands["onnxruntime"] = ort_call(sess, x)
            report(f"bench lstm batch {n}", run_rounds(cands, args.rounds))
    with tempfile.TemporaryDirectory() as tmp:
        for shape in filter(None, args.shapes.split(",")):
            feats, units = (int(v) for v in shape.split("x"))
            path = write_lstm(Path(tmp) / shape, feats, units, args.steps)
            models = {"fused": load_with(path, "1"), "unfused": load_with(path, "0")}
            x0 = np.random.default_rng(1).uniform(-1, 1, (1, args.steps, feats)).astype(np.float32)
            for n in batches:
                x = batch_of(x0, n)
                cands = {k: predictor(m, x) for k, m in models.items()}
                report(f"F={feats} u={units} batch {n}", run_rounds(cands, args.rounds))
    print("load average after:", " ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
