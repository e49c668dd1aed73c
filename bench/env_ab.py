"""A/B of an environment variable read once per process, on the bench models.

    python bench/env_ab.py --var TFJS_INFER_POOL_AFFINITY --values 0,1 \
        [--models mlp,resnet50] [--threads 2] [--batch 1] [--rounds 8] [--seconds 2]
        [--precision bf16]

Several variables at once: --var A+B --values 1+2,3+4 (A=1 B=2 against A=3 B=4).

Some switches are read once per process (TFJS_INFER_POOL_AFFINITY when the
thread pool starts, the TFJS_INFER_GEMM_* blocking at import), so the
candidates cannot share one process: every round starts one fresh process per
value (the order reversed each round), each loads the model, warms it up and
times predict for --seconds; its median is one sample. Prints per value the
median over the rounds, its ratio to the first value's and every sample, the
command, the CPU model and the load average. Wall time at several threads;
thread CPU time at one (steadier on a shared host). Outputs are checked
equal across the values (bit for bit) where the variable must not change them.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
from _harness import TIMED_PREDICT_CHILD, cpu_jiffies, run_header, run_with_env, steal_since

HERE = Path(__file__).resolve().parent

CHILD = (
    r"""
import hashlib, json, sys, time
import numpy as np
import tfjs_infer
folder, threads, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
seconds, precision = float(sys.argv[4]), sys.argv[5]
rows = np.load(folder + "/input.npy")
x = np.ascontiguousarray(np.resize(rows, (batch, *rows.shape[1:])))
model = tfjs_infer.load_model(folder + "/tfjs/model.json", num_threads=threads,
                              precision=precision)
"""
    + TIMED_PREDICT_CHILD
)


def one_sample(var: str, value: str, folder: Path, args: argparse.Namespace) -> dict:
    """One fresh process with var=value (several: "A+B" and "a+b"): its median
    and output digest."""
    argv = ["-c", CHILD, str(folder), str(args.threads), str(args.batch)]
    return run_with_env(var, value, [*argv, str(args.seconds), args.precision])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--var", required=True, help="a name, or several joined by + (A+B)")
    ap.add_argument("--values", required=True, help="comma-separated values; the first is the base")
    ap.add_argument("--models", default="mlp,resnet50")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=2.0, help="timed predict per process")
    ap.add_argument("--precision", default="fp32", help="load_model's precision")
    args = ap.parse_args()
    run_header("env_ab.py")
    clock = "thread CPU time" if args.threads == 1 else "wall time"
    print(
        f"{args.threads} thread(s), batch {args.batch}, precision {args.precision}, {clock}, "
        "medians of per-process medians"
    )
    values = args.values.split(",")
    run_start = cpu_jiffies()
    for name in args.models.split(","):
        folder = HERE / ".models" / name
        got: dict[str, list[float]] = {v: [] for v in values}
        digests = set()
        for r in range(args.rounds):
            for v in values if r % 2 == 0 else values[::-1]:
                s = one_sample(args.var, v, folder, args)
                got[v].append(s["median"])
                digests.add(s["digest"])
        base = float(np.median(got[values[0]]))
        same = "outputs equal" if len(digests) == 1 else "OUTPUTS DIFFER"
        print(f"{name} ({same}):")
        for v, samples in got.items():
            m = float(np.median(samples))
            # Four decimals below 0.1 ms (the MLP's ~20 us calls).
            d = 4 if base < 1e-4 else 3
            every = " ".join(f"{s * 1e3:.{d}f}" for s in samples)
            print(f"  {args.var}={v:<6} {m * 1e3:9.{d}f} ms  {m / base:6.3f}  [{every}]")
    print(
        "load average after:",
        " ".join(f"{v:.2f}" for v in os.getloadavg()),
        f"| host {steal_since(run_start)}",
    )


if __name__ == "__main__":
    main()
