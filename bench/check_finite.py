"""Cost of ``predict(x, check_finite=True)`` on the bench models.

    python bench/check_finite.py [--models-dir bench/.models] [--models mlp,mobilenet_v2]
                                 [--batches 1,32,256] [--rounds 40]

For each model (its TF.js model.json and input.npy, see make_bench_models.py)
and batch size: the median time of ``predict(x)`` and of
``predict(x, check_finite=True)``, interleaved round by round (order reversed
each round), and their ratio; then the check alone on that input.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
from _harness import header, interleaved

import tfjs_infer
from tfjs_infer._inputs import check_finite

HERE = Path(__file__).resolve().parent


def batch_of(x: np.ndarray, n: int) -> np.ndarray:
    reps = -(-n // x.shape[0])
    return np.ascontiguousarray(np.concatenate([x] * reps)[:n])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models-dir", default=str(HERE / ".models"))
    ap.add_argument("--models", default="mlp,mobilenet_v2")
    ap.add_argument("--batches", default="1,32,256")
    ap.add_argument("--rounds", type=int, default=40)
    args = ap.parse_args()
    header()
    print(f"load average: {os.getloadavg()}")
    print(f"{'model':<14}{'batch':>6}{'predict':>12}{'+check':>12}{'ratio':>8}{'check only':>12}")
    for name in args.models.split(","):
        folder = Path(args.models_dir) / name
        model = tfjs_infer.load_model(folder / "tfjs" / "model.json")
        x0 = np.load(folder / "input.npy").astype(np.float32)
        for n in (int(b) for b in args.batches.split(",")):
            t = time_one(model, batch_of(x0, n), args.rounds)
            print(
                f"{name:<14}{n:>6}{t['plain'] * 1e6:>10.1f}us{t['check'] * 1e6:>10.1f}us"
                f"{t['check'] / t['plain']:>8.3f}{t['check_only'] * 1e6:>10.1f}us"
            )
    print(f"load average: {os.getloadavg()}")


def time_one(model: tfjs_infer.Model, x: np.ndarray, rounds: int) -> dict[str, float]:
    """Median seconds of predict, predict with the check, and the check alone."""
    n = x.shape[0]
    start = time.perf_counter()
    model.predict(x, batch_size=n)
    inner = max(1, int(2e-3 // max(1e-6, time.perf_counter() - start)))
    return interleaved(
        {
            "plain": lambda: model.predict(x, batch_size=n),
            "check": lambda: model.predict(x, batch_size=n, check_finite=True),
            "check_only": lambda: check_finite(model.inputs, [x]),
        },
        rounds,
        inner,
    )


if __name__ == "__main__":
    main()
