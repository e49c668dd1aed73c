"""A batch-1 LSTM step cut by units across two threads (UnitParts in
cpp/ops/recurrent.cpp) against the whole one-row step, one process, interleaved.

    python bench/rnn_unit_parts.py [--rounds 41] [--burst 5] [--shapes 16x64,32x128,64x256]
                                   [--steps 50] [--batch 1]

Each model is loaded with TFJS_INFER_RNN_UNIT_PARTS=0 ("whole": one GEMV and one
gate call per step) and without it ("parts"), at 1 and 2 threads (the switch
is read when a model is loaded). The bench LSTM (bench/.models/lstm: LSTM(128)
over 50 steps of 32 features, then Dense 10) first, then synthetic LSTMs of
FEATURESxUNITS (bench/rnn_fused_ab.py's writer, seeded weights). Each round
times every candidate for --burst calls in a row (calls back to back, as in
serving: the pool's worker still spins between them), order reversed each
round; figures are medians over all calls of
wall time (the two threads' gain) and of process CPU time (what both threads
spend), in brackets / "whole 1t". The outputs of all candidates are checked
bitwise equal. Wall time counts time the host gives other processes: note the
load average printed before and after, and repeat. Prints the command and the
CPU model.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from _harness import run_header
from rnn_fused_ab import batch_of, write_lstm

import tfjs_infer

HERE = Path(__file__).resolve().parent
CANDIDATES = [("whole", 1), ("parts", 1), ("whole", 2), ("parts", 2)]


def load(path: Path, how: str, threads: int) -> tfjs_infer.Model:
    if how == "whole":
        os.environ["TFJS_INFER_RNN_UNIT_PARTS"] = "0"
    try:
        return tfjs_infer.load_model(path, num_threads=threads)
    finally:
        os.environ.pop("TFJS_INFER_RNN_UNIT_PARTS", None)


def run_rounds(
    cands: dict[str, Callable[[], object]], rounds: int, burst: int
) -> dict[str, tuple[float, float]]:
    """Median (wall, process CPU) microseconds per call, candidates interleaved."""
    names = list(cands)
    for fn in cands.values():
        fn()
    wall: dict[str, list[float]] = {n: [] for n in names}
    cpu: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        for n in names if r % 2 == 0 else names[::-1]:
            for _ in range(burst):
                c0, t0 = time.process_time_ns(), time.perf_counter_ns()
                cands[n]()
                t1, c1 = time.perf_counter_ns(), time.process_time_ns()
                wall[n].append((t1 - t0) / 1e3)
                cpu[n].append((c1 - c0) / 1e3)
    return {n: (float(np.median(wall[n])), float(np.median(cpu[n]))) for n in names}


def measure(title: str, path: Path, x: np.ndarray, rounds: int, burst: int) -> None:
    models = {f"{how} {t}t": load(path, how, t) for how, t in CANDIDATES}
    outs = [m.predict(x, batch_size=len(x)) for m in models.values()]
    same = all(np.array_equal(outs[0], o) for o in outs[1:])
    med = run_rounds(
        {k: (lambda m=m: m.predict(x, batch_size=len(x))) for k, m in models.items()},
        rounds,
        burst,
    )
    base_w, base_c = med["whole 1t"]
    cells = "  ".join(
        f"{n} {w:7.1f} ({w / base_w:5.3f}) cpu {c:7.1f} ({c / base_c:5.3f})"
        for n, (w, c) in med.items()
    )
    print(f"{title:>22}  {cells}  same bits: {same}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=41)
    ap.add_argument("--burst", type=int, default=5, help="calls in a row per candidate")
    ap.add_argument("--shapes", default="16x64,32x128,64x256", help="FEATURESxUNITS,...")
    ap.add_argument("--steps", type=int, default=50, help="steps of the synthetic LSTMs")
    ap.add_argument("--batch", type=int, default=1)
    args = ap.parse_args()
    run_header("rnn_unit_parts.py")
    # The synthetic model.json files name no writer (TF.js semantics, as wanted).
    warnings.filterwarnings("ignore", category=tfjs_infer.SemanticsWarning)
    print("load average before:", " ".join(f"{v:.2f}" for v in os.getloadavg()))
    print("us per call, medians of wall time and of process CPU time; in brackets: / whole 1t")
    folder = HERE / ".models" / "lstm"
    if (folder / "tfjs" / "model.json").exists():
        x = batch_of(np.load(folder / "input.npy"), args.batch)
        measure(
            f"bench lstm batch {args.batch}",
            folder / "tfjs" / "model.json",
            x,
            args.rounds,
            args.burst,
        )
    with tempfile.TemporaryDirectory() as tmp:
        for shape in filter(None, args.shapes.split(",")):
            feats, units = (int(v) for v in shape.split("x"))
            path = write_lstm(Path(tmp) / shape, feats, units, args.steps)
            rng = np.random.default_rng(1)
            x0 = rng.uniform(-1, 1, (1, args.steps, feats)).astype(np.float32)
            measure(
                f"F={feats} u={units} batch {args.batch}",
                path,
                batch_of(x0, args.batch),
                args.rounds,
                args.burst,
            )
    print("load average after:", " ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
