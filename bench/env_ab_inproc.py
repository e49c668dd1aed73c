"""A/B of a switch read when a model is compiled, in one process.

    python bench/env_ab_inproc.py --var TFJS_INFER_CHAIN_TWO_ENDED --values 0,1 \
        [--models mobilenet_v2] [--threads 2] [--batch 1] [--rounds 30] [--calls 20]
        [--precision bf16]

For switches read when an op is built (not once per process): the model is
loaded once per value (the variable set before each load) in this process,
then the models take turns, --calls predicts each per round (the order
reversed each round), wall time. Finer than env_ab.py's fresh processes on a
busy shared host: the candidates share the process, its pool and the moment,
so the host's load hits them alike. Prints per value the median of the
per-round medians, its ratio to the first value's, and the median of the
per-round ratios (paired); outputs are checked equal bit for bit. Figures, not
tests: the command, the CPU model and the load average are printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np
from _harness import run_header

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--var", required=True)
    ap.add_argument("--values", required=True, help="comma-separated; the first is the base")
    ap.add_argument("--models", default="mobilenet_v2")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--calls", type=int, default=20, help="predicts per model per round")
    ap.add_argument("--precision", default="fp32", help="load_model's precision")
    args = ap.parse_args()
    run_header("env_ab_inproc.py")
    import tfjs_infer

    values = args.values.split(",")
    print(
        f"{args.threads} thread(s), batch {args.batch}, precision {args.precision}, wall time, "
        "medians of per-round medians"
    )
    for name in args.models.split(","):
        folder = HERE / ".models" / name
        rows = np.load(folder / "input.npy")
        x = np.ascontiguousarray(np.resize(rows, (args.batch, *rows.shape[1:])))
        models = {}
        for v in values:
            os.environ[args.var] = v
            models[v] = tfjs_infer.load_model(
                str(folder / "tfjs" / "model.json"),
                num_threads=args.threads,
                precision=args.precision,
            )
        os.environ.pop(args.var)
        outs = {v: models[v].predict(x, batch_size=args.batch) for v in values}
        for v in values[1:]:
            np.testing.assert_array_equal(outs[v].view(np.uint32), outs[values[0]].view(np.uint32))
        got: dict[str, list[float]] = {v: [] for v in values}
        for r in range(args.rounds):
            for v in values if r % 2 == 0 else values[::-1]:
                m, s = models[v], []
                for _ in range(args.calls):
                    t0 = time.perf_counter()
                    m.predict(x, batch_size=args.batch)
                    s.append(time.perf_counter() - t0)
                got[v].append(statistics.median(s))
        base = statistics.median(got[values[0]])
        print(f"{name} (outputs equal):")
        for v in values:
            med = statistics.median(got[v])
            paired = statistics.median(a / b for a, b in zip(got[v], got[values[0]]))
            print(
                f"  {args.var}={v:<6} {med * 1e3:9.4f} ms  {med / base:6.3f}  paired {paired:6.3f}"
            )
    print("load average after:", " ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
