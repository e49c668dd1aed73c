"""A batch-1 fused LSTM step cut by units across two threads (UnitParts and
StepHandoff in cpp/ops/recurrent_parts.h) against the whole one-row step, one
process, interleaved.

    python bench/rnn_unit_parts.py [--rounds 41] [--burst 5]
                                   [--shapes 16x64,24x96,32x128,64x256] [--steps 50]
                                   [--row-scan 8,16,32,64]

Candidates per model: "1t" (1 thread: the whole GEMV), "whole 2t" (2 threads,
TFJS_INFER_RNN_UNIT_PARTS=0, read at load: batch 1 stays on one thread) and
"parts 2t" (2 threads, the step cut in two). The bench LSTM (bench/.models/lstm:
LSTM(128) over 50 steps of 32 features, then Dense 10) first, then synthetic
LSTMs of FEATURESxUNITS (bench/rnn_fused_ab.py's writer, seeded weights; the
parts exist only above kMinSplitStepWork floating-point operations a step).
Each round times every candidate for --burst calls in a row (the pool's worker
still spins between them, as in serving), order reversed each round.

Figures: medians of wall time per call (counts time the host gives other
processes: note the load average printed, and repeat), then for the 1-thread
candidate its thread CPU time and for "parts 2t" the wall time of the pool job
in the calls in which both threads held their cores throughout (each thread's
CPU time in the job >= 95 % of the job's wall time; how many of the calls did):
what the split gives on idle cores, measured on a shared host. Outputs are
checked bitwise equal. Prints the command and the CPU model.

--row-scan: the bench LSTM on one thread at those batch sizes, thread CPU time
per row (medians, sizes interleaved): what a 2-thread row split of batch 32
(16 rows a thread) loses to its shorter GEMM tiles, the most that splitting each
step's columns instead could gain.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from _harness import run_header
from rnn_fused_ab import write_lstm

import tfjs_infer
from tfjs_infer import _core

HERE = Path(__file__).resolve().parent
CANDIDATES = {"1t": ("parts", 1), "whole 2t": ("whole", 2), "parts 2t": ("parts", 2)}


def load(path: Path, how: str, threads: int) -> tfjs_infer.Model:
    if how == "whole":
        os.environ["TFJS_INFER_RNN_UNIT_PARTS"] = "0"
    try:
        return tfjs_infer.load_model(path, num_threads=threads)
    finally:
        os.environ.pop("TFJS_INFER_RNN_UNIT_PARTS", None)


def held_job_walls() -> list[float]:
    """Wall us of the pool jobs just traced in which both threads held their cores."""
    return [
        j["wall_ns"] / 1e3
        for j in _core._testing.pool_trace_take()
        if j["parts"] > 1 and min(j["busy_cpu_ns"][:2]) >= 0.95 * j["wall_ns"]
    ]


def measure(title: str, path: Path, x: np.ndarray, rounds: int, burst: int) -> None:
    models = {k: load(path, how, t) for k, (how, t) in CANDIDATES.items()}
    outs = [m.predict(x) for m in models.values()]
    same = all(np.array_equal(outs[0], o) for o in outs[1:])
    wall: dict[str, list[float]] = {k: [] for k in models}
    one_cpu: list[float] = []
    held: list[float] = []
    for m in models.values():
        m.predict(x)
    for r in range(rounds):
        for k in list(models) if r % 2 == 0 else list(models)[::-1]:
            _core._testing.pool_trace_take()
            _core._testing.pool_trace(k == "parts 2t")
            for _ in range(burst):
                c0, t0 = time.thread_time_ns(), time.perf_counter_ns()
                models[k].predict(x)
                t1, c1 = time.perf_counter_ns(), time.thread_time_ns()
                wall[k].append((t1 - t0) / 1e3)
                if k == "1t":
                    one_cpu.append((c1 - c0) / 1e3)
            _core._testing.pool_trace(False)
            if k == "parts 2t":
                held += held_job_walls()
    base = float(np.median(wall["1t"]))
    cells = "  ".join(
        f"{k} {np.median(v):7.1f} ({np.median(v) / base:5.3f})" for k, v in wall.items()
    )
    held_cell = f"{np.median(held):7.1f}" if held else "    n/a"
    print(
        f"{title:>22}  wall: {cells}  | 1t thread CPU {np.median(one_cpu):7.1f}, parts 2t job "
        f"with both threads on CPU {held_cell} ({len(held)}/{rounds * burst} calls)"
        f"  same bits: {same}"
    )


def row_scan(sizes: list[int], rounds: int) -> None:
    folder = HERE / ".models" / "lstm"
    model = tfjs_infer.load_model(folder / "tfjs" / "model.json", num_threads=1)
    x0 = np.load(folder / "input.npy")
    xs = {n: np.ascontiguousarray(np.resize(x0, (n, *x0.shape[1:]))) for n in sizes}
    per_row: dict[int, list[float]] = {n: [] for n in sizes}
    for r in range(rounds):
        for n in sizes if r % 2 == 0 else sizes[::-1]:
            t0 = time.thread_time_ns()
            model.predict(xs[n], batch_size=n)
            per_row[n].append((time.thread_time_ns() - t0) / 1e3 / n)
    print("bench lstm, 1 thread, thread CPU us per row (medians):")
    for n, v in per_row.items():
        print(f"  batch {n:4d}: {np.median(v):7.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=41)
    ap.add_argument("--burst", type=int, default=5, help="calls in a row per candidate")
    ap.add_argument("--shapes", default="16x64,24x96,32x128,64x256", help="FEATURESxUNITS,...")
    ap.add_argument("--steps", type=int, default=50, help="steps of the synthetic LSTMs")
    ap.add_argument("--row-scan", default="", help="batch sizes: 1-thread time per row only")
    args = ap.parse_args()
    run_header("rnn_unit_parts.py")
    if args.row_scan:
        row_scan([int(v) for v in args.row_scan.split(",")], args.rounds)
        print("load average after:", " ".join(f"{v:.2f}" for v in os.getloadavg()))
        return
    # The synthetic model.json files name no writer (TF.js semantics, as wanted).
    warnings.filterwarnings("ignore", category=tfjs_infer.SemanticsWarning)
    print("load average before:", " ".join(f"{v:.2f}" for v in os.getloadavg()))
    print("batch 1, us per call, medians; in brackets: / 1t")
    folder = HERE / ".models" / "lstm"
    if (folder / "tfjs" / "model.json").exists():
        x = np.load(folder / "input.npy")[:1]
        measure("bench lstm", folder / "tfjs" / "model.json", x, args.rounds, args.burst)
    with tempfile.TemporaryDirectory() as tmp:
        for shape in filter(None, args.shapes.split(",")):
            feats, units = (int(v) for v in shape.split("x"))
            path = write_lstm(Path(tmp) / shape, feats, units, args.steps)
            rng = np.random.default_rng(1)
            x = rng.uniform(-1, 1, (1, args.steps, feats)).astype(np.float32)
            measure(f"F={feats} u={units}", path, x, args.rounds, args.burst)
    print("load average after:", " ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
