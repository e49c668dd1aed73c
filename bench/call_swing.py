"""Why some multi-threaded calls are slow: per call, the pool's job trace
(tfjs_infer._core._testing.pool_trace), the calls sorted by wall time.

    python bench/call_swing.py [--model mobilenet_v2] [--threads 2] [--batch 1] [--calls 300]

Runs --calls predictions back to back on one model and prints, for the
fastest fifth, the middle and the slowest fifth of the calls (medians): the
wall time, the calling thread's CPU time, the process's CPU time, the workers'
share of the tasks, and how long the caller waited for tasks a worker had
started (it never waits for a task no one started: it claims those itself).
A slow call whose caller waited long for started tasks had a worker that
claimed a task and then lost its core; one whose caller CPU time is near the
one-thread time ran without its worker. After the command, the CPU model and
the load average.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
from _harness import run_header

import tfjs_infer
from tfjs_infer import _core

MODELS = Path(__file__).resolve().parent / ".models"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="mobilenet_v2")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--calls", type=int, default=300)
    args = ap.parse_args()
    run_header("call_swing.py")
    folder = MODELS / args.model
    model = tfjs_infer.load_model(folder / "tfjs" / "model.json", num_threads=args.threads)
    x = np.load(folder / "input.npy")
    x = np.repeat(x, -(-args.batch // len(x)), axis=0)[: args.batch]
    for _ in range(10):
        model.predict(x, batch_size=args.batch)
    test = _core._testing
    test.pool_trace_take()
    times, traces = [], []
    test.pool_trace(True)
    for _ in range(args.calls):
        w0, c0, p0 = time.perf_counter(), time.thread_time(), time.process_time()
        model.predict(x, batch_size=args.batch)
        times.append((time.perf_counter() - w0, time.thread_time() - c0, time.process_time() - p0))
        traces.append(test.pool_trace_take())  # this call's jobs
    test.pool_trace(False)
    wall, caller, process = (np.array(v) * 1e3 for v in zip(*times))
    share, wait = [], []
    for jobs in traces:
        ran = sum(sum(j["ran"]) for j in jobs)
        share.append(sum(sum(j["ran"][1:]) for j in jobs) / max(ran, 1))
        wait.append(sum(j["caller_wait_ns"] for j in jobs) / 1e3)
    share_a, wait_a = np.array(share), np.array(wait)
    order = np.argsort(wall)
    n = len(order)
    print(f"{args.model} batch {args.batch}, {args.threads} threads, {n} calls")
    for name, sel in (
        ("fastest fifth", order[: n // 5]),
        ("middle", order[n // 5 : 4 * n // 5]),
        ("slowest fifth", order[4 * n // 5 :]),
    ):
        print(
            f"  {name:13s} wall {np.median(wall[sel]):7.2f} ms, caller CPU "
            f"{np.median(caller[sel]):6.2f} ms, process CPU {np.median(process[sel]):6.2f} ms, "
            f"workers' share {np.median(share_a[sel]):.2f}, caller waiting for started "
            f"tasks {np.median(wait_a[sel]):8.1f} us"
        )
    print("load average after:", " ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
