"""A/B of an environment switch read when a model loads (or on every call), in
one process: the candidates' predict calls interleaved, paired per round.

    python bench/load_switch_ab.py --var TFJS_INFER_DW_BF16 --values 1,0 \
        [--model mobilenet_v2] [--precision bf16] [--batch 32] [--rounds 30]
        [--cut expanded_conv_project_BN] [--per-call]

Switches read once per process (the TFJS_INFER_GEMM_* blocking, function
statics in the kernels) need fresh processes: bench/env_ab.py. A switch read
where an op is built (ConvChainOp's TFJS_INFER_DW_BF16) differs between two
models loaded in one process with the variable set differently; one read on
every call (--per-call) differs between calls of one model, the variable set
before each. Both candidates then share the process, its caches and the
host's moment: on a loaded host (other sessions on the same cores) a round's
two samples move together, so the median of per-round ratios ("paired") is
steadier than env_ab.py's ratio of medians of separate processes. The order
is reversed each round. 1 thread, thread CPU time; outputs checked bit for
bit against the first value's. --cut: a submodel ending at that layer (its
output is materialized: page faults of a fresh output array count in both).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
from _harness import run_header

import tfjs_infer

HERE = Path(__file__).resolve().parent


def load(folder: Path, precision: str, cut: str | None) -> tfjs_infer.Model:
    kw = {"outputs": cut} if cut else {}
    return tfjs_infer.load_model(
        folder / "tfjs" / "model.json", precision=precision, num_threads=1, **kw
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--var", required=True)
    ap.add_argument("--values", required=True, help="comma-separated; the first is the base")
    ap.add_argument("--models-dir", type=Path, default=HERE / ".models")
    ap.add_argument("--model", default="mobilenet_v2")
    ap.add_argument("--precision", default="bf16")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--cut", default=None, help="layer name: time a submodel ending there")
    ap.add_argument("--per-call", action="store_true", help="one model, the variable per call")
    args = ap.parse_args()
    run_header("load_switch_ab.py")
    values = args.values.split(",")
    folder = args.models_dir / args.model
    rows = np.load(folder / "input.npy")
    x = np.ascontiguousarray(np.resize(rows, (args.batch, *rows.shape[1:])))
    models: dict[str, tfjs_infer.Model] = {}
    shared = load(folder, args.precision, args.cut) if args.per_call else None
    for v in values:
        os.environ[args.var] = v
        models[v] = shared if shared is not None else load(folder, args.precision, args.cut)
    outs: dict[str, np.ndarray] = {}
    for v in values:
        os.environ[args.var] = v
        outs[v] = np.asarray(models[v].predict(x, batch_size=args.batch))
    samples: dict[str, list[float]] = {v: [] for v in values}
    for r in range(args.rounds):
        for v in values if r % 2 == 0 else values[::-1]:
            os.environ[args.var] = v
            start = time.thread_time()
            models[v].predict(x, batch_size=args.batch)
            samples[v].append(time.thread_time() - start)
    base = samples[values[0]]
    what = f"{args.model}" + (f" up to {args.cut}" if args.cut else "")
    print(
        f"== {what}: {args.precision}, batch {args.batch}, 1 thread, {args.rounds} rounds, "
        f"thread CPU time ({'per call' if args.per_call else 'set at load'})"
    )
    for v in values:
        med = float(np.median(samples[v]))
        paired = float(np.median([s / b for s, b in zip(samples[v], base)]))
        equal = np.array_equal(outs[v], outs[values[0]], equal_nan=True)
        print(
            f"  {args.var}={v:<8} median {med * 1e3:9.2f} ms  min {min(samples[v]) * 1e3:9.2f}"
            f"  ratio {med / float(np.median(base)):.4f}  paired {paired:.4f}"
            f"  outputs {'equal' if equal else 'DIFFER'}"
        )
    print(f"load average after: {' '.join(f'{a:.2f}' for a in os.getloadavg())}")


if __name__ == "__main__":
    main()
