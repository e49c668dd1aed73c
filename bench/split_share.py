"""One thread's share of a chain of dense layers under each way of splitting it.

    python bench/split_share.py [--layers 784,512,512] [--batch 32,256] [--threads 2]
                                [--rounds 11] [--isa ISA]

On a shared host two threads rarely get two cores, so a split's wall time there
measures the other jobs. What it would take on idle cores is the time of the
busiest thread's share, and that share can be run alone on one thread and timed
by thread CPU time: the layers' GEMMs (tfjs_infer._core._testing.gemm, the
kernels the ops call) over the part one thread computes, repeated call after
call as a model runs, so its caches hold what they would hold (a row share
streams all of each layer's weights; a column share only its columns, which
stay in the core's L2 when the thread gets the same columns every call).
Candidates, taking turns round by round (order reversed each round), medians:

  rows          batch / threads rows, all columns            (the row split)
  cols          all rows, the first 1 / threads of the columns (a column split
                whose thread keeps its columns: parallel_for_owned)
  cols random   all rows, a random 1 / threads of the columns each call, in
                4 tasks per thread (a column split on a shared run of tasks,
                where which thread takes which task changes from call to call)
  whole         every row and column (one thread)

Prints the command, the CPU model and the load average. Not a test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from _harness import cpu_line

from tfjs_infer import _core

T = _core._testing


def chain(isa: str, widths: list[int], rows: int, cols: Callable[[int], list[tuple[int, int]]]):
    """A call running every layer over `rows` rows and the column ranges cols(n) gives."""
    rng = np.random.default_rng(0)
    packed = [
        T.pack_b(isa, rng.standard_normal((k, n)).astype(np.float32) / np.sqrt(k))
        for k, n in zip(widths, widths[1:])
    ]
    acts = [rng.standard_normal((rows, widths[0])).astype(np.float32)]
    acts += [np.zeros((rows, n), np.float32) for n in widths[1:]]

    def run() -> None:
        for i, b in enumerate(packed):
            for c0, c1 in cols(widths[i + 1]):
                T.gemm(isa, acts[i], b, out=acts[i + 1], n_begin=c0, n_end=c1, act="relu")

    return run


def candidates(isa: str, widths: list[int], batch: int, threads: int) -> dict[str, Callable]:
    """The shares of one thread under each split (module docstring)."""
    nr = T.gemm_nr(isa)
    pick = np.random.default_rng(1)

    def share(n: int, part: int, parts: int) -> tuple[int, int]:
        panels = (n + nr - 1) // nr
        return panels * part // parts * nr, min(n, panels * (part + 1) // parts * nr)

    def random_tasks(n: int) -> list[tuple[int, int]]:
        tasks = 4 * threads
        return [share(n, int(t), tasks) for t in pick.choice(tasks, 4, replace=False)]

    return {
        "rows": chain(isa, widths, max(1, batch // threads), lambda n: [(0, n)]),
        "cols": chain(isa, widths, batch, lambda n: [share(n, 0, threads)]),
        "cols random": chain(isa, widths, batch, random_tasks),
        "whole": chain(isa, widths, batch, lambda n: [(0, n)]),
    }


def thread_us(run: Callable[[], None], reps: int) -> float:
    """Thread CPU time per call, microseconds."""
    t = time.thread_time()
    for _ in range(reps):
        run()
    return (time.thread_time() - t) / reps * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--layers", default="784,512,512", help="widths: input, then each layer's")
    ap.add_argument("--batch", default="32,256")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=11)
    ap.add_argument("--isa", default=T.available_isas()[-1], help="default: the best")
    args = ap.parse_args()
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(cpu_line())
    print(f"load average at start: {os.getloadavg()}")
    widths = [int(w) for w in args.layers.split(",")]
    for batch in (int(b) for b in args.batch.split(",")):
        cands = candidates(args.isa, widths, batch, args.threads)
        reps = max(5, 20000 // batch)
        res: dict[str, list[float]] = {k: [] for k in cands}
        for r in range(args.rounds):
            for name, run in list(cands.items())[:: 1 if r % 2 == 0 else -1]:
                run()
                res[name].append(thread_us(run, reps))
        med = {k: statistics.median(v) for k, v in res.items()}
        line = ", ".join(f"{k} {v:.1f} us ({v / med['rows']:.2f})" for k, v in med.items())
        print(
            f"batch {batch}, {args.threads} threads, one thread's share (/rows): {line}; "
            f"load {os.getloadavg()[0]:.1f}"
        )


if __name__ == "__main__":
    main()
