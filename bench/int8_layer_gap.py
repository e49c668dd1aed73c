"""Where int8 ResNet50's time goes, tfjs-infer beside onnxruntime's static int8
model, layer by layer.

    python bench/int8_layer_gap.py [--batch 32] [--rounds 5] [--threads 1] [--top 20]
                                   [--models-dir bench/.models]

tfjs-infer's `model.profile(x)` of precision="int8" and onnxruntime's own
per-node profile (SessionOptions.enable_profiling, the "<node>_kernel_time"
events) of its static int8 model (`onnxruntime.quantization.quantize_static`,
QDQ, per-channel weights, calibrated on 16 bench images: bench/precision.py's),
on the same input, a round at a time in turns (order reversed each round),
medians per layer over the rounds. Grouped by Keras layer: our op
"conv2_block1_3_conv" (BatchNorm, the residual Add and ReLU fused in) against
onnxruntime's QLinearConv of that layer plus its QLinearAdd "conv2_block1_add";
the stem's "Conv__..." node counts as conv1; QuantizeLinear/DequantizeLinear
nodes count under "(quantize/dequantize)". Then the sums per kind of layer (1x1
reduce, 3x3, 1x1 expand + add, 1x1 projection, the rest), the totals, the
command, the CPU model and the load average (totals: the layers' medians
added up). Wall time per op: a figure, not a
test; on a shared host the medians move with the load.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import ort_profile_runs, ort_session, run_header

from precision import load_ours, ort_int8_models

HERE = Path(__file__).resolve().parent
KINDS = {"1": "1x1 reduce", "2": "3x3", "3": "1x1 expand + add", "0": "1x1 projection"}


def layer_of(name: str) -> str:
    """The Keras layer an op (ours) or a node (onnxruntime's) belongs to."""
    if name.endswith(("QuantizeLinear", "_q")) or "QuantizeLinear" in name:
        return "(quantize/dequantize)"
    m = re.search(r"(conv\d_block\d+)_(\d)_conv", name)
    if m:
        return f"{m.group(1)}_{m.group(2)}"
    m = re.search(r"(conv\d_block\d+)_add", name)
    if m:  # the residual Add: fused into our expand conv
        return f"{m.group(1)}_3"
    if name.startswith("Conv__") or "conv1_conv" in name:
        return "conv1"
    m = re.search(r"(pool1_pad|pool1_pool|avg_pool|predictions)", name)
    return m.group(1) if m else name


def kind_of(layer: str) -> str:
    m = re.match(r"conv\d_block\d+_(\d)$", layer)
    return KINDS[m.group(1)] if m else "the rest"


def ours_round(model, x: np.ndarray) -> dict[str, float]:
    """Milliseconds per layer, one profiled call."""
    out: dict[str, float] = collections.defaultdict(float)
    for row in model.profile(x, rounds=1):
        out[layer_of(row["name"])] += row["us"] / 1e3
    return out


def ort_rounds(trace: Path) -> list[dict[str, float]]:
    """Milliseconds per layer for each profiled run in an onnxruntime trace."""
    runs = ort_profile_runs(
        json.loads(trace.read_text()), lambda e: layer_of(e["name"][: -len("_kernel_time")])
    )
    return [{k: us / 1e3 for k, us in r.items()} for r in runs]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models-dir", type=Path, default=HERE / ".models")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--top", type=int, default=20, help="layers printed (largest differences)")
    args = ap.parse_args()

    run_header("int8_layer_gap.py")
    folder = args.models_dir / "resnet50"
    x = np.load(folder / "input.npy")
    calib = x[:16]
    x = np.ascontiguousarray(np.concatenate([x] * (args.batch // len(x) + 1))[: args.batch])
    model = load_ours(folder, "int8", args.threads)
    ours: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = ort_int8_models(folder / "model.onnx", calib, Path(tmp))["onnxruntime int8 static"]
        session = ort_session(path, args.threads, str(Path(tmp) / "ort"))
        feed = {session.get_inputs()[0].name: x}
        session.run(None, feed)  # warm-up (dropped below)
        model.predict(x, batch_size=len(x))
        for r in range(args.rounds):
            for step in ("ours", "ort") if r % 2 == 0 else ("ort", "ours"):
                if step == "ours":
                    ours.append(ours_round(model, x))
                else:
                    session.run(None, feed)
        theirs = ort_rounds(Path(session.end_profiling()))[1:]
    layers = sorted({name for p in ours + theirs for name in p})
    rows = []
    for name in layers:
        a = float(np.median([p.get(name, 0.0) for p in ours]))
        o = float(np.median([p.get(name, 0.0) for p in theirs]))
        rows.append((a - o, name, a, o))
    print(f"\nbatch {args.batch}, {args.threads} thread(s), {args.rounds} rounds (ms per call)")
    print(f"{'layer':>22} {'ours':>8} {'ort':>8} {'diff':>8} {'ratio':>6}")
    for diff, name, a, o in sorted(rows, reverse=True)[: args.top]:
        ratio = f"{a / o:6.2f}" if o else "     -"
        print(f"{name:>22} {a:8.2f} {o:8.2f} {diff:8.2f} {ratio}")
    kinds: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0.0])
    for _, name, a, o in rows:
        kinds[kind_of(name)][0] += a
        kinds[kind_of(name)][1] += o
    print(f"\n{'kind':>22} {'ours':>8} {'ort':>8} {'diff':>8} {'ratio':>6}")
    for kind, (a, o) in sorted(kinds.items(), key=lambda kv: kv[1][1] - kv[1][0]):
        print(f"{kind:>22} {a:8.2f} {o:8.2f} {a - o:8.2f} {a / o if o else 0:6.2f}")
    tot_a = sum(r[2] for r in rows)  # the layers' medians added up
    tot_o = sum(r[3] for r in rows)
    print(f"{'total':>22} {tot_a:8.2f} {tot_o:8.2f} {tot_a - tot_o:8.2f} {tot_a / tot_o:6.2f}")
    print("load average after:", " ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
