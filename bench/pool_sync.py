"""What one parallel loop costs on this machine: the data for the small-op threshold.

    python bench/pool_sync.py [--calls 3000] [--task-us 0,1,2,5,10,20]

Below `kMinWorkPerThread` (cpp/core/threading.h) floating-point operations per
thread a loop stays on one thread: waking a second core must cost less than the
half of the work it takes over. This measures both sides:

- a loop of 2 tasks that each spin `task_us`, on 1 thread and on 2, taking turns
  call by call (the worker spinning between calls, as between the ops of a call),
  medians of wall time; also after 1 ms of idle (the worker asleep: the wake-up).
  `saves` = 1-thread time - 2-thread time; `worker took part` = the calls in which
  the worker ran a task (on a loaded host it often cannot);
- the 1-thread GEMM rate of a small dense layer (GFLOP/s, thread CPU time).

The break-even task (the smallest `task_us` that saves time) times the GEMM rate is
the work per thread below which a split cannot pay here: compare it with
kMinWorkPerThread. Figures, not tests: the command, the CPU model and the load
average are printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
from _harness import run_header

from tfjs_infer import _core

MIN_WORK_PER_THREAD = 1 << 17  # cpp/core/threading.h kMinWorkPerThread


def loop_times(task_us: float, calls: int, idle_s: float) -> dict[str, float]:
    """Median wall time (us) of a 2-task loop on 1 and on 2 threads, taking turns."""
    walls: dict[int, list[float]] = {1: [], 2: []}
    took_part = 0
    for c in range(calls):
        for threads in (1, 2) if c % 2 else (2, 1):
            if idle_s:
                time.sleep(idle_s)
            t = time.perf_counter_ns()
            r = _core._testing.pool_run(2, threads, task_us=task_us)
            walls[threads].append((time.perf_counter_ns() - t) / 1e3)
            if threads == 2:
                took_part += any(w != 0 for w in r["worker"])
    one, two = statistics.median(walls[1]), statistics.median(walls[2])
    return {"one": one, "two": two, "saves": one - two, "took_part": took_part / calls}


def gemm_gflops(rows: int = 32, k: int = 256, n: int = 256, calls: int = 2000) -> float:
    """1-thread GFLOP/s of a dense layer rows x k . k x n (thread CPU time)."""
    rng = np.random.default_rng(0)
    g = _core.Graph()
    x = g.add_input("x", [None, k], "float32")
    w = rng.standard_normal((k, n)).astype(np.float32)
    (y,) = g.add_op("dense", "d", [x], {}, {"kernel": w})
    g.set_outputs([y])
    model = _core.CompiledModel(g, num_threads=1)
    a = rng.standard_normal((rows, k)).astype(np.float32)
    for _ in range(50):
        model.run([a])
    t = time.thread_time()
    for _ in range(calls):
        model.run([a])
    seconds = (time.thread_time() - t) / calls
    return 2 * rows * k * n / seconds / 1e9


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calls", type=int, default=3000)
    ap.add_argument("--task-us", default="0,1,2,5,10,20")
    args = ap.parse_args()
    run_header("pool_sync.py")
    _core._testing.pool_run(2, 2)  # start the worker
    rate = gemm_gflops()
    print(f"1-thread GEMM 32x256 . 256x256: {rate:.1f} GFLOP/s (thread CPU time)")
    print(
        f"{'task us':>8s} {'worker':>8s} {'1 thr us':>9s} {'2 thr us':>9s} {'saves':>7s} "
        f"{'took part':>10s} {'flops/task':>11s}"
    )
    break_even = None
    for idle_s, label in ((0.0, "spinning"), (0.001, "asleep")):
        calls = args.calls if not idle_s else max(200, args.calls // 10)
        for task_us in (float(v) for v in args.task_us.split(",")):
            r = loop_times(task_us, calls, idle_s)
            flops = task_us * rate * 1e3
            print(
                f"{task_us:8.1f} {label:>8s} {r['one']:9.2f} {r['two']:9.2f} {r['saves']:7.2f} "
                f"{r['took_part']:10.0%} {flops:11.0f}"
            )
            if label == "spinning" and break_even is None and r["saves"] > 0:
                break_even = task_us
    if break_even is not None:
        print(
            f"break-even with a spinning worker: tasks of ~{break_even} us = "
            f"~{break_even * rate * 1e3:.0f} flops per thread (kMinWorkPerThread = "
            f"{MIN_WORK_PER_THREAD})"
        )
    else:
        print("no task size saved time: the worker hardly ran (a loaded host?)")
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
