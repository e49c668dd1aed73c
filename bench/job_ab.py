"""Per pool job A/B of a switch read when an op is built, in one process.

    python bench/job_ab.py --var TFJS_INFER_CHAIN_TWO_ENDED --values 0,1 \
        [--model mobilenet_v2] [--threads 2] [--batch 1] [--rounds 30] [--calls 8]
        [--precision bf16]

Several variables at once: --var A+B --values 0+0,1+1. Each value's model is
loaded twice in this process, in the order of --values and then reversed (the
model loaded first in a process ran ~4 % slower than an identical one loaded
after it; each value then has an early and a late copy); the copies take
turns (the order reversed each round), each warming up and then running
--calls predicts with the pool trace on (tfjs_infer._core._testing.pool_trace).
Per pool job (one per op that split, in call order): the median wall time
(the caller's, from publishing the job to its end) and the median CPU time
of all threads in its tasks, per value; then the sums over the jobs. The
jobs of a call are much steadier than whole calls on a busy shared host (a
job's wall leaves out the time between ops), so a change to a few ops shows
here before it shows in bench/env_ab_inproc.py. Outputs are checked equal bit
for bit. Figures, not tests: the command, the CPU model and the load average
are printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
from pathlib import Path

import numpy as np
from _harness import load_copies_early_late, run_header

from tfjs_infer import _core

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--var", required=True, help="a name, or several joined by + (A+B)")
    ap.add_argument("--values", required=True, help="comma-separated; the first is the base")
    ap.add_argument("--model", default="mobilenet_v2")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--calls", type=int, default=8, help="traced predicts per copy per round")
    ap.add_argument("--precision", default="fp32", help="load_model's precision")
    args = ap.parse_args()
    run_header("job_ab.py")

    values = args.values.split(",")
    folder = HERE / ".models" / args.model
    rows = np.load(folder / "input.npy")
    x = np.ascontiguousarray(np.resize(rows, (args.batch, *rows.shape[1:])))
    copies = load_copies_early_late(
        folder / "tfjs" / "model.json",
        args.var,
        values,
        x,
        args.batch,
        args.threads,
        args.precision,
    )
    walls: dict[str, dict[int, list[float]]] = {v: {} for v in values}
    work: dict[str, dict[int, list[float]]] = {v: {} for v in values}
    for r in range(args.rounds):
        for v, m in copies if r % 2 == 0 else copies[::-1]:
            for _ in range(3):
                m.predict(x, batch_size=args.batch)
            _core._testing.pool_trace_take()
            _core._testing.pool_trace(True)
            for _ in range(args.calls):
                m.predict(x, batch_size=args.batch)
            _core._testing.pool_trace(False)
            jobs = _core._testing.pool_trace_take()
            per = len(jobs) // args.calls
            for j in range(per):
                for q in jobs[j::per]:
                    walls[v].setdefault(j, []).append(q["wall_ns"] / 1e3)
                    work[v].setdefault(j, []).append(sum(q["busy_cpu_ns"]) / 1e3)
    med = statistics.median
    print(
        f"{args.model} {args.precision}, batch {args.batch}, {args.threads} threads, "
        f"{args.rounds} rounds x {args.calls} calls per copy (outputs equal)"
    )
    print("  job  " + "".join(f"{v + ' wall us':>18}{'work us':>10}" for v in values))
    jobs_n = min(len(walls[v]) for v in values)
    for j in range(jobs_n):
        cells = "".join(f"{med(walls[v][j]):18.1f}{med(work[v][j]):10.1f}" for v in values)
        print(f"  {j:3d}  {cells}")
    base = sum(med(walls[values[0]][j]) for j in range(jobs_n))
    for v in values:
        w = sum(med(walls[v][j]) for j in range(jobs_n))
        c = sum(med(work[v][j]) for j in range(jobs_n))
        print(f"  sum {args.var}={v}: wall {w:8.1f} us ({w / base:.3f}x)  work {c:8.1f} us")
    print("load average after:", " ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
