"""Per-op A/B of an environment variable: model.profile() in fresh processes.

    python bench/op_profile_ab.py --var TFJS_INFER_GEMM_GEMV_PREFETCH --values 0,4 \
        [--models mobilenet_v2] [--last 3] [--ops Conv_1,predictions] [--rounds 6]

Where env_ab.py times whole calls, this shows which ops a switch moves: every
round starts one fresh process per value (the order reversed each round),
each loads the model at 1 thread, batch 1, and takes model.profile(x) (the
median per op of --calls calls: wall time per op, the op's own thread). The
printed figure per op is the median over the rounds of those medians, its
ratio to the first value's, and every sample; the last line per model is the
sum over all ops. Several variables at once as in env_ab.py: --var A+B
--values 1+2,3+4.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
from _harness import run_header, run_with_env

HERE = Path(__file__).resolve().parent

CHILD = r"""
import json, sys
import numpy as np
import tfjs_infer
folder, calls = sys.argv[1], int(sys.argv[2])
x = np.load(folder + "/input.npy")[:1]
model = tfjs_infer.load_model(folder + "/tfjs/model.json", num_threads=1)
print(json.dumps([[r["name"], r["us"]] for r in model.profile(x, rounds=calls)]))
"""


def one_profile(var: str, value: str, folder: Path, calls: int) -> list[list]:
    """One fresh process with var=value: [name, microseconds] per op."""
    return run_with_env(var, value, ["-c", CHILD, str(folder), str(calls)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--var", required=True, help="a name, or several joined by + (A+B)")
    ap.add_argument("--values", required=True, help="comma-separated values; the first is the base")
    ap.add_argument("--models", default="mobilenet_v2")
    ap.add_argument("--last", type=int, default=3, help="show the model's last N ops")
    ap.add_argument("--ops", default="", help="comma-separated op names to show as well")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--calls", type=int, default=40, help="profiled calls per process")
    args = ap.parse_args()
    run_header("op_profile_ab.py")
    print("1 thread, batch 1, model.profile (wall time per op), medians of per-process medians")
    values = args.values.split(",")
    for model in args.models.split(","):
        folder = HERE / ".models" / model
        got: dict[str, list[dict[str, float]]] = {v: [] for v in values}
        order: list[str] = []
        for r in range(args.rounds):
            for v in values if r % 2 == 0 else values[::-1]:
                rows = one_profile(args.var, v, folder, args.calls)
                order = [name for name, _ in rows]
                sample = dict(rows)
                sample["(all ops)"] = sum(us for _, us in rows)
                got[v].append(sample)
        wanted = [n for n in args.ops.split(",") if n in order]
        shown = [n for n in order if n in wanted or n in order[-args.last :]] + ["(all ops)"]
        print(f"{model}:")
        for name in shown:
            base = float(np.median([s[name] for s in got[values[0]]]))
            print(f"  {name}")
            for v in values:
                samples = [s[name] for s in got[v]]
                m = float(np.median(samples))
                every = " ".join(f"{s:.1f}" for s in samples)
                print(f"    {args.var}={v:<8} {m:9.1f} us  {m / base:6.3f}  [{every}]")
    print("load average after:", " ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
