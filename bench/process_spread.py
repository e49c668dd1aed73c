"""Where the per-process spread of a multi-threaded call comes from.

    python bench/process_spread.py [--model mobilenet_v2] [--threads 2] [--batch 1]
        [--procs 12] [--seconds 2] [--litert]
        [--configs "whole=TFJS_INFER_CHAIN_OWN_ROWS:0 own=TFJS_INFER_CHAIN_OWN_ROWS:1"]

Every round starts one fresh process per candidate (tfjs-infer under each
--configs entry, NAME=VAR:VALUE,VAR:VALUE, entries apart by spaces; LiteRT with --litert), the
candidates taking turns (the order reversed each round). Each process loads
the model, warms it up and times predict (wall clock) for --seconds, and
reports, over the timed calls: the median and the 10th/90th percentiles, the
medians of the first and the second half of the calls (a state the process
keeps shows in both halves; a passing state of the host does not), the
process CPU time per call (above 2x the wall time: spinning), minor page
faults and voluntary/involuntary context switches per call, and how often its
two busiest threads sat on the same core when sampled (every 20 calls, from
/proc/self/task/*/stat; they cannot both run then). Per candidate: the median
and the spread (min, max) of the per-process medians, then every process
sorted by its median with its turn (the order the processes ran in: slow
processes of every candidate in the same turns point at the host), to see
whether the slow processes share a cause.
Prints the command, the CPU model, the load average and the steal.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

from _harness import cpu_jiffies, run_header, steal_since

HERE = Path(__file__).resolve().parent

CHILD = r"""
import json, os, resource, sys, time
import numpy as np
engine, folder, threads, batch, seconds = (sys.argv[1], sys.argv[2], int(sys.argv[3]),
                                           int(sys.argv[4]), float(sys.argv[5]))
sys.path.insert(0, sys.argv[6])
from compare import load_engine
meta = json.load(open(folder + "/meta.json")) if os.path.exists(folder + "/meta.json") else {}
rows = np.load(folder + "/input.npy")
x = np.ascontiguousarray(np.resize(rows, (batch, *rows.shape[1:])))
if engine == "tfjs-infer":
    import tfjs_infer
    model = tfjs_infer.load_model(folder + "/tfjs/model.json", num_threads=threads)
    run = lambda: model.predict(x, batch_size=batch)
else:
    from pathlib import Path
    run = load_engine(engine, Path(folder), meta, threads, [batch]).run
    run_x = run
    run = lambda: run_x(x)
for _ in range(5):
    run()

def thread_cpus():
    out = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            f = open(f"/proc/self/task/{tid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[tid] = (int(f[11]) + int(f[12]), int(f[36]))  # utime+stime, processor
    return out

t0 = thread_cpus()
r0 = resource.getrusage(resource.RUSAGE_SELF)
samples, same, looks = [], 0, 0
end = time.perf_counter() + seconds
while time.perf_counter() < end or len(samples) < 20:
    t = time.perf_counter()
    run()
    samples.append(time.perf_counter() - t)
    if len(samples) % 20 == 0:
        now = thread_cpus()
        busy = sorted(now, key=lambda k: now[k][0] - t0.get(k, (0, 0))[0], reverse=True)[:2]
        if len(busy) == 2:
            looks += 1
            same += now[busy[0]][1] == now[busy[1]][1]
r1 = resource.getrusage(resource.RUSAGE_SELF)
n = len(samples)
cpu = (r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime) / n
s = np.array(samples)
print(json.dumps({
    "median": float(np.median(s)), "p10": float(np.percentile(s, 10)),
    "p90": float(np.percentile(s, 90)), "cpu": cpu, "calls": n,
    "minflt": (r1.ru_minflt - r0.ru_minflt) / n, "nvcsw": (r1.ru_nvcsw - r0.ru_nvcsw) / n,
    "nivcsw": (r1.ru_nivcsw - r0.ru_nivcsw) / n, "same_core": same / max(looks, 1),
    "first": float(np.median(s[: n // 2])), "second": float(np.median(s[n // 2 :])),
}))
"""


def one(engine: str, env: dict[str, str], args: argparse.Namespace) -> dict:
    """One fresh process: its figures."""
    import os

    folder = HERE / ".models" / args.model
    argv = [engine, str(folder), str(args.threads), str(args.batch), str(args.seconds), str(HERE)]
    p = subprocess.run(
        [sys.executable, "-c", CHILD, *argv],
        env=dict(os.environ, **env),
        capture_output=True,
        text=True,
        timeout=600,
    )
    if p.returncode != 0:
        raise RuntimeError(p.stderr.strip().splitlines()[-1])
    return json.loads(p.stdout.strip().splitlines()[-1])


def parse_configs(spec: str) -> dict[str, dict[str, str]]:
    """NAME=VAR:VALUE,VAR:VALUE;NAME2=... (';' or ' ' between configs)."""
    out: dict[str, dict[str, str]] = {}
    for part in spec.replace(";", " ").split():
        name, _, rest = part.partition("=")
        out[name] = dict(kv.split(":", 1) for kv in rest.split(",") if kv)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="mobilenet_v2")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--procs", type=int, default=12, help="processes per candidate")
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--configs", default="base=", help="NAME=VAR:VALUE,... separated by ';'")
    ap.add_argument("--litert", action="store_true", help="LiteRT takes turns too")
    args = ap.parse_args()
    run_header("process_spread.py")
    cands: list[tuple[str, str, dict[str, str]]] = [
        (name, "tfjs-infer", env) for name, env in parse_configs(args.configs).items()
    ]
    if args.litert:
        cands.append(("LiteRT", "LiteRT", {}))
    res: dict[str, list[dict]] = {c[0]: [] for c in cands}
    j0 = cpu_jiffies()
    turn = 0
    for r in range(args.procs):
        for name, engine, env in cands if r % 2 == 0 else cands[::-1]:
            res[name].append({**one(engine, env, args), "turn": turn})
            turn += 1
    print(steal_since(j0))
    base = statistics.median(d["median"] for d in res[cands[0][0]])
    for name, rows in res.items():
        meds = [d["median"] * 1e3 for d in rows]
        m = statistics.median(meds)
        print(
            f"{name:10s} median of {len(meds)} process medians {m:.3f} ms "
            f"({m / base / 1e3:.3f}x {cands[0][0]}), min {min(meds):.3f}, max {max(meds):.3f}"
        )
    for name, rows in res.items():
        print(f"-- {name}: per process, sorted by median")
        print(
            "  turn  median    p10    p90  1st half  2nd half  cpu/wall  minflt  nvcsw  nivcsw"
            "  same_core"
        )
        for d in sorted(rows, key=lambda d: d["median"]):
            ms = [d[key] * 1e3 for key in ("median", "p10", "p90", "first", "second")]
            print(
                f"  {d['turn']:4d}  {ms[0]:6.3f} {ms[1]:6.3f} {ms[2]:6.3f}  {ms[3]:8.3f}"
                f"  {ms[4]:8.3f}  {d['cpu'] / d['median']:8.2f}  {d['minflt']:6.2f}"
                f"  {d['nvcsw']:5.2f}  {d['nivcsw']:6.2f}  {d['same_core']:9.2f}"
            )
    print(steal_since(j0))


if __name__ == "__main__":
    main()
