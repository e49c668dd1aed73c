"""A/B of a switch read when a model is compiled, in one process.

    python bench/env_ab_inproc.py --var TFJS_INFER_CHAIN_TWO_ENDED --values 0,1 \
        [--models mobilenet_v2] [--threads 2] [--batch 1] [--rounds 30] [--calls 20]
        [--precision bf16]

For switches read when an op is built (not once per process): the model is
loaded twice per value (the variable set before each load) in this process,
in the order of --values and then in the reverse order (in one process the
model loaded first ran 4 % slower than an identical one loaded after it:
MobileNetV2 batch 1, 2 threads, --var X --values a,b; each value then has an
early and a late copy), then the models take turns, --calls predicts each per
round (the order reversed each round), wall time. Finer than env_ab.py's fresh processes on a
busy shared host: the candidates share the process, its pool and the moment,
so the host's load hits them alike. Prints per value the median of the
per-round medians (both copies), its ratio to the first value's, and the
median of the per-round ratios (paired; a value's round time: the mean of its
copies); outputs are checked equal bit for bit. Figures, not
tests: the command, the CPU model and the load average are printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np
from _harness import load_copies_early_late, run_header

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--var", required=True, help="a name, or several joined by + (A+B)")
    ap.add_argument("--values", required=True, help="comma-separated; the first is the base")
    ap.add_argument("--models", default="mobilenet_v2")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--calls", type=int, default=20, help="predicts per model per round")
    ap.add_argument("--precision", default="fp32", help="load_model's precision")
    args = ap.parse_args()
    run_header("env_ab_inproc.py")

    values = args.values.split(",")
    print(
        f"{args.threads} thread(s), batch {args.batch}, precision {args.precision}, wall time, "
        "medians of per-round medians"
    )
    for name in args.models.split(","):
        folder = HERE / ".models" / name
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
        got: dict[str, list[float]] = {v: [] for v in values}
        per_round: dict[str, list[float]] = {v: [] for v in values}
        for r in range(args.rounds):
            this_round: dict[str, list[float]] = {v: [] for v in values}
            for v, m in copies if r % 2 == 0 else copies[::-1]:
                s = []
                for _ in range(args.calls):
                    t0 = time.perf_counter()
                    m.predict(x, batch_size=args.batch)  # type: ignore[attr-defined]
                    s.append(time.perf_counter() - t0)
                got[v].append(statistics.median(s))
                this_round[v].append(statistics.median(s))
            for v in values:
                per_round[v].append(statistics.fmean(this_round[v]))
        base = statistics.median(got[values[0]])
        print(f"{name} (outputs equal):")
        for v in values:
            med = statistics.median(got[v])
            paired = statistics.median(a / b for a, b in zip(per_round[v], per_round[values[0]]))
            print(
                f"  {args.var}={v:<6} {med * 1e3:9.4f} ms  {med / base:6.3f}  paired {paired:6.3f}"
            )
    print("load average after:", " ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
