"""Where a model stops scaling with threads: each op at 1 thread beside N threads.

    python bench/thread_scaling.py [--models mlp,resnet50] [--batch 1,32,256] [--threads 2]
                                   [--rounds 9]
    python bench/thread_scaling.py --trace [--config NAME=VAR:VALUE,VAR:VALUE ...]
                                   [--models mlp] [--batch 32,256] [--jobs] [--precision int8] ...

Default mode, for each model and batch: the model loaded twice in this process
(1 thread and --threads), `model.profile(x)` of each taking turns round by round
(order reversed each round), medians per op of wall time. Per op: the 1-thread
time, the N-thread time, the speedup and the time lost against a perfect split
(t_N - t_1 / N); the ops that lose most first, then the totals and whole calls
(wall time, and process CPU time beside the 1-thread time: what the split
costs in waiting, spinning and streaming the weights twice).

--trace: what each split would take on idle cores, measured on a busy shared
host. Every config (environment settings such as TFJS_INFER_GEMM_SPLIT=rows)
runs in a fresh process per round, the configs taking turns; each records its pool
jobs (tfjs_infer._core._testing.pool_trace: per thread, the thread CPU time of
the tasks it ran) over calls of about 0.5 s. Per call: `critical` = the
caller's CPU time outside pool jobs + per job the busiest thread's CPU time
(the wall time on two idle cores, less the cost of handing tasks over; a thread
that was descheduled mid-task does not count its wait), `work` = all threads'
CPU time, `wall` = the measured wall time (the host's load in it), `share` =
the part of the tasks the workers ran, `1-thread` = the same calls on a
1-thread copy of the model in the same process (thread CPU time: work above it
is what the split costs), `process` = the process CPU time per call (all
threads: above `work` it is the time the threads spun or waited between and
around the tasks). Medians over rounds; outputs checked equal across configs.
--jobs adds the same per pool job, in the order a call runs them (one job per
parallel op, so job i is the i-th op that split; `model.profile` lists the ops):
its tasks, `work` (all threads' CPU time in its tasks) and `critical` (the
busiest thread's), configs side by side: which op's split loses, and to what.

Figures, not tests: the command, the CPU model and the load average are printed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from _harness import cpu_line

HERE = Path(__file__).resolve().parent
MODELS_DIR = HERE / ".models"


def load(folder: Path, threads: int, precision: str = "fp32"):
    """The bench model at `folder` with `threads` threads, in `precision`."""
    import tfjs_infer

    return tfjs_infer.load_model(
        folder / "tfjs" / "model.json", num_threads=threads, precision=precision
    )


def inputs(folder: Path, batch: int) -> np.ndarray:
    """The bench model's saved input rows, repeated to `batch` rows."""
    rows = np.load(folder / "input.npy")
    return np.ascontiguousarray(np.resize(rows, (batch, *rows.shape[1:])))


def time_calls(model, x: np.ndarray, calls: int) -> tuple[float, float]:
    """Median wall time and mean process CPU time of `calls` calls, microseconds."""
    walls = []
    cpu0 = time.process_time()
    for _ in range(calls):
        t = time.perf_counter()
        model.predict(x, batch_size=len(x))
        walls.append(time.perf_counter() - t)
    cpu = (time.process_time() - cpu0) / calls
    return statistics.median(walls) * 1e6, cpu * 1e6


def calls_for(model, x: np.ndarray, seconds: float = 0.05) -> int:
    """Calls that take about `seconds` (at least 3)."""
    t = time.perf_counter()
    model.predict(x, batch_size=len(x))
    return max(3, int(seconds / max(time.perf_counter() - t, 1e-6)))


def traced(folder: Path, threads: int, batch: int, precision: str) -> dict:
    """One config's traced calls (this process): per-call figures in microseconds."""
    from tfjs_infer import _core

    model = load(folder, threads, precision)
    x = inputs(folder, batch)
    out = model.predict(x, batch_size=batch)
    for _ in range(3):
        model.predict(x, batch_size=batch)
    calls = calls_for(model, x, 0.5)
    _core._testing.pool_trace_take()
    _core._testing.pool_trace(True)
    caller0 = time.thread_time()
    wall, process = time_calls(model, x, calls)
    caller = (time.thread_time() - caller0) * 1e6 / calls
    _core._testing.pool_trace(False)
    jobs = _core._testing.pool_trace_take()
    one = load(folder, 1, precision)  # the same calls on one thread: the work without a split
    one.predict(x, batch_size=batch)
    one_t = time.thread_time()
    for _ in range(calls):
        one.predict(x, batch_size=batch)
    one_us = (time.thread_time() - one_t) * 1e6 / calls
    in_jobs = sum(j["busy_cpu_ns"][0] for j in jobs) / 1e3 / calls
    critical = sum(max(j["busy_cpu_ns"]) for j in jobs) / 1e3 / calls
    work = sum(sum(j["busy_cpu_ns"]) for j in jobs) / 1e3 / calls
    ran = sum(sum(j["ran"]) for j in jobs)
    per_call = len(jobs) // calls
    per_job = [
        [
            jobs[i]["tasks"],
            statistics.median(sum(j["busy_cpu_ns"]) for j in jobs[i::per_call]) / 1e3,
            statistics.median(max(j["busy_cpu_ns"]) for j in jobs[i::per_call]) / 1e3,
        ]
        for i in range(per_call)
    ]
    return {
        "critical": caller - in_jobs + critical,
        "work": caller - in_jobs + work,
        "wall": wall,
        "process": process,
        "one thread": one_us,
        "jobs": len(jobs) / calls,
        "share": (ran - sum(j["ran"][0] for j in jobs)) / max(ran, 1),
        "digest": hashlib.sha256(np.ascontiguousarray(out).tobytes()).hexdigest(),
        "per_job": per_job,
    }


def child_main(argv: list[str]) -> None:
    """--child FOLDER THREADS BATCH PRECISION: one traced config, a JSON line."""
    print(json.dumps(traced(Path(argv[0]), int(argv[1]), int(argv[2]), argv[3])))


def parse_config(spec: str) -> tuple[str, dict[str, str]]:
    """NAME=VAR:VALUE,VAR:VALUE -> (NAME, {VAR: VALUE})."""
    name, _, pairs = spec.partition("=")
    env = {}
    for pair in filter(None, pairs.split(",")):
        var, _, value = pair.partition(":")
        env[var] = value
    return name, env


def print_jobs(res: dict[str, list[dict]]) -> None:
    """Per pool job, each config's tasks, work and critical path (medians over rounds)."""
    counts = {len(s["per_job"]) for v in res.values() for s in v}
    if len(counts) != 1:
        print(f"  per job: not comparable (jobs per call differ: {sorted(counts)})")
        return
    print(f"  {'job':>4s} " + " ".join(f"{n[:12]:>12s} tasks  work us  crit us" for n in res))
    for i in range(counts.pop()):
        cells = []
        for samples in res.values():
            tasks = samples[0]["per_job"][i][0]
            work = statistics.median(s["per_job"][i][1] for s in samples)
            crit = statistics.median(s["per_job"][i][2] for s in samples)
            cells.append(f"{tasks:18d} {work:8.1f} {crit:8.1f}")
        print(f"  {i:4d} " + " ".join(cells))


def trace_configs(
    folder: Path,
    batch: int,
    threads: int,
    rounds: int,
    configs: list[tuple[str, dict]],
    precision: str = "fp32",
    jobs: bool = False,
) -> None:
    """Every config in a fresh process per round, taking turns; medians."""
    res: dict[str, list[dict]] = {name: [] for name, _ in configs}
    for r in range(rounds):
        for name, env in configs[:: 1 if r % 2 == 0 else -1]:
            cmd = [sys.executable, __file__, "--child", str(folder), str(threads), str(batch)]
            cmd.append(precision)
            p = subprocess.run(
                cmd, env={**os.environ, **env}, capture_output=True, text=True, timeout=600
            )
            if p.returncode:
                raise SystemExit(f"{name}: {p.stderr}")
            res[name].append(json.loads(p.stdout.splitlines()[-1]))
    digests = {s["digest"] for v in res.values() for s in v}
    same = "outputs equal" if len(digests) == 1 else "OUTPUTS DIFFER"
    print(
        f"\n== {folder.name} {precision} batch {batch}, {threads} threads, {rounds} rounds "
        f"({same}); load {os.getloadavg()[0]:.2f}"
    )
    first = configs[0][0]
    ref = statistics.median(s["critical"] for s in res[first])
    print(
        f"  {'config':12s} {'critical us':>12s} {'ratio':>6s} {'work us':>10s} "
        f"{'1-thread us':>12s} {'wall us':>10s} {'process us':>11s} {'jobs':>6s} {'share':>6s}"
    )
    for name, _ in configs:
        skip = ("digest", "per_job")
        med = {k: statistics.median(s[k] for s in res[name]) for k in res[name][0] if k not in skip}
        print(
            f"  {name:12s} {med['critical']:12.1f} {med['critical'] / ref:6.3f} "
            f"{med['work']:10.1f} {med['one thread']:12.1f} {med['wall']:10.1f} "
            f"{med['process']:11.1f} {med['jobs']:6.1f} {med['share']:6.2f}"
        )
    if jobs:
        print_jobs(res)


def per_op(folder: Path, batch: int, threads: int, rounds: int) -> None:
    """Each op at 1 thread beside `threads`, in this process."""
    one, many = load(folder, 1), load(folder, threads)
    x = inputs(folder, batch)
    names = [(r["name"], r["type"]) for r in one.profile(x, rounds=1)]
    samples: dict[int, list[list[float]]] = {1: [], threads: []}
    whole: dict[int, list[tuple[float, float]]] = {1: [], threads: []}
    calls = calls_for(one, x)
    for r in range(rounds):
        order = [(1, one), (threads, many)][:: 1 if r % 2 == 0 else -1]
        for t, model in order:
            samples[t].append([row["us"] for row in model.profile(x, rounds=3)])
            whole[t].append(time_calls(model, x, calls))
    med = {t: [statistics.median(col) for col in zip(*s)] for t, s in samples.items()}
    rows = []
    for i, (name, op_type) in enumerate(names):
        t1, tn = med[1][i], med[threads][i]
        rows.append((tn - t1 / threads, name, op_type, t1, tn))
    print(f"\n== {folder.name} batch {batch}: 1 thread vs {threads} (medians of {rounds} rounds)")
    print(
        f"{'op':40s} {'type':14s} {'1 thr us':>10s} {f'{threads} thr us':>10s} "
        f"{'speedup':>8s} {'lost us':>9s}"
    )
    for lost, name, op_type, t1, tn in sorted(rows, reverse=True)[:15]:
        print(
            f"{name[:40]:40s} {op_type[:14]:14s} {t1:10.1f} {tn:10.1f} "
            f"{t1 / max(tn, 1e-9):8.2f} {lost:9.1f}"
        )
    s1, sn = sum(med[1]), sum(med[threads])
    print(f"{'sum of ops':55s} {s1:10.1f} {sn:10.1f} {s1 / sn:8.2f} {sn - s1 / threads:9.1f}")
    w1 = statistics.median(w for w, _ in whole[1])
    wn = statistics.median(w for w, _ in whole[threads])
    cn = statistics.median(c for _, c in whole[threads])
    print(
        f"whole call: 1 thread {w1:.1f} us; {threads} threads {wn:.1f} us wall "
        f"(speedup {w1 / wn:.2f}), {cn:.1f} us process CPU ({cn / w1:.2f}x the 1-thread time)"
    )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_main(sys.argv[2:])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="mlp,resnet50")
    ap.add_argument("--batch", default="1,32,256")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--trace", action="store_true", help="configs in fresh processes, traced")
    ap.add_argument("--config", action="append", default=[], help="NAME=VAR:VALUE,VAR:VALUE")
    ap.add_argument("--jobs", action="store_true", help="with --trace: per pool job, side by side")
    ap.add_argument("--precision", default="fp32", help="--trace: load_model's precision")
    args = ap.parse_args()
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(cpu_line())
    print(f"load average at start: {os.getloadavg()}")
    configs = [parse_config(c) for c in args.config] or [("this", {})]
    for name in args.models.split(","):
        folder = MODELS_DIR / name
        for batch in (int(b) for b in args.batch.split(",")):
            if args.trace:
                trace_configs(
                    folder, batch, args.threads, args.rounds, configs, args.precision, args.jobs
                )
            else:
                per_op(folder, batch, args.threads, args.rounds)
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
