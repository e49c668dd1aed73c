"""Where a model's time goes, tfjs-infer beside onnxruntime, layer by layer.

    python bench/layer_gap.py [--model resnet50] [--threads 1] [--rounds 9] [--batch 1]

tfjs-infer's `model.profile(x)` and onnxruntime's own per-node profile
(SessionOptions.enable_profiling, the "<node>_kernel_time" events) on the
same input, taking turns round by round (order reversed each round), wall
time, medians per layer over the rounds (--stat min: minima, steadier on a
loaded host, where a preempted sample inflates wall time by
milliseconds). Both sides are grouped by Keras
layer block: tfjs-infer's op "conv2_block1_2_conv" (BatchNorm and ReLU folded
in) and onnxruntime's nodes "resnet50/conv2_block1_2_relu/Relu:0_nchwc" both
count under "conv2_block1_2"; onnxruntime's layout changes (ReorderInput /
ReorderOutput, Transpose) count under "(layout)"; its recurrent nodes (LSTM,
GRU, RNN, named by tf2onnx without the layer) under the Keras default layer
name (lstm, gru, simple_rnn). --batch beyond the saved input's rows repeats
them. Prints the rows sorted by
the difference, then the totals; the command, the CPU model and the load
average. A figure, not a test: medians of wall time on a shared host move
with the load.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import tempfile
from pathlib import Path

import numpy as np
from _harness import ort_profile_runs, ort_session, run_header

import tfjs_infer

HERE = Path(__file__).resolve().parent


def block_of(name: str) -> str:
    """The Keras layer block a node or op belongs to."""
    if name.startswith(("Reorder", "Transpose")) or "__" in name:
        return "(layout)"
    parts = name.split("/")
    layer = parts[1] if len(parts) > 1 else parts[0]
    m = re.match(r"(conv\d_block\d+_\d|conv\d_block\d+|conv\d|pool\d|[a-z_]+?)(_[a-z]+)?$", layer)
    return m.group(1) if m else layer


# onnxruntime's recurrent node types -> the block of the Keras layer they run.
RECURRENT_BLOCKS = {"LSTM": "lstm", "GRU": "gru", "RNN": "simple_rnn"}


def ours_profile(model, x: np.ndarray) -> dict[str, float]:
    """Microseconds per block, one profile of 3 calls (their median per op)."""
    out: dict[str, float] = collections.defaultdict(float)
    for row in model.profile(x, rounds=3):
        out[block_of(row["name"])] += row["us"]
    return out


def ort_profile(path: Path, x: np.ndarray, threads: int, calls: int) -> list[dict[str, float]]:
    """Microseconds per block for each of `calls` runs of a fresh profiled session."""
    sess = ort_session(path, threads, os.path.join(tempfile.gettempdir(), "layer_gap_ort"))
    name = sess.get_inputs()[0].name
    for _ in range(calls):
        sess.run(None, {name: x})
    trace = Path(sess.end_profiling())
    events = json.loads(trace.read_text())
    trace.unlink()

    def block(e: dict) -> str:
        op = e.get("args", {}).get("op_name", "")
        return RECURRENT_BLOCKS.get(op) or block_of(e["name"][: -len("_kernel_time")])

    return ort_profile_runs(events, block)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="resnet50")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--top", type=int, default=25, help="rows printed (largest differences)")
    ap.add_argument(
        "--stat",
        choices=("median", "min"),
        default="median",
        help="per block over the samples; min: the least-disturbed sample (a loaded host)",
    )
    args = ap.parse_args()
    stat = np.median if args.stat == "median" else np.min
    run_header("layer_gap.py")
    folder = HERE / ".models" / args.model
    saved = np.load(folder / "input.npy")
    reps = -(-args.batch // len(saved))
    x = np.ascontiguousarray(np.tile(saved, (reps,) + (1,) * (saved.ndim - 1))[: args.batch])
    model = tfjs_infer.load_model(folder / "tfjs" / "model.json", num_threads=args.threads)
    ours: list[dict[str, float]] = []
    theirs: list[dict[str, float]] = []
    for r in range(args.rounds):
        steps = ("ours", "ort") if r % 2 == 0 else ("ort", "ours")
        for step in steps:
            if step == "ours":
                ours.append(ours_profile(model, x))
            else:  # the first call of a session is its warm-up
                theirs.extend(ort_profile(folder / "model.onnx", x, args.threads, 4)[1:])
    blocks = sorted({b for p in ours + theirs for b in p})
    rows = []
    for b in blocks:
        a = float(stat([p.get(b, 0.0) for p in ours]))
        o = float(stat([p.get(b, 0.0) for p in theirs]))
        rows.append((a - o, b, a, o))
    rows.sort(reverse=True)
    print(f"{'block':>18} {'ours us':>9} {'ort us':>9} {'diff us':>9} {'ratio':>6}")
    for diff, b, a, o in rows[: args.top]:
        ratio = f"{a / o:6.2f}" if o else "     -"
        print(f"{b:>18} {a:9.1f} {o:9.1f} {diff:9.1f} {ratio}")
    tot_a = float(stat([sum(p.values()) for p in ours]))
    tot_o = float(stat([sum(p.values()) for p in theirs]))
    print(f"{'total':>18} {tot_a:9.1f} {tot_o:9.1f} {tot_a - tot_o:9.1f} {tot_a / tot_o:6.2f}")
    print("load average after:", " ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
