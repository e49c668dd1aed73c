"""Throughput of one Model shared by several Python threads (a web service's
worker threads, a thread-pool batch job): rows per second with 1, 2, ...
caller threads, each call single-threaded in the core (``num_threads=1``), so
the speed-up comes only from the GIL being released during compute.

    python bench/concurrency.py [--threads 1 2 4] [--seconds 1.5]

Prints, per model and batch size, rows/s for each caller-thread count and the
speed-up over one caller thread. Outputs are checked against a
single-threaded run first.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from _harness import header, write_dense_model

import tfjs_infer


def throughput(model: tfjs_infer.Model, x: np.ndarray, callers: int, seconds: float) -> float:
    """Rows per second over `seconds`, with `callers` threads calling predict_on_batch."""
    deadline = time.perf_counter() + seconds
    counts = [0] * callers
    start = threading.Barrier(callers)

    def work(i: int) -> None:
        start.wait()
        while time.perf_counter() < deadline:
            model.predict_on_batch(x)
            counts[i] += len(x)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(callers) as pool:
        list(pool.map(work, range(callers)))
    return sum(counts) / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--seconds", type=float, default=1.5)
    args = parser.parse_args()
    header()
    print(f"cpu cores visible: {os.cpu_count()}; core threads per call: 1")
    models = {
        "digits MLP 64-64-10 (bundled)": tfjs_infer.load_model(
            tfjs_infer.examples.digits_path(), num_threads=1
        )
    }
    with tempfile.TemporaryDirectory() as tmp:
        write_dense_model(Path(tmp), [784, 512, 512, 10], ["relu", "relu", "softmax"])
        models["MLP 784-512-512-10"] = tfjs_infer.load_model(
            Path(tmp) / "model.json", num_threads=1
        )
    for title, model in models.items():
        width = model.inputs[0].shape[-1]
        for batch in (1, 32):
            x = np.random.default_rng(batch).standard_normal((batch, width)).astype(np.float32)
            ref = model.predict_on_batch(x)
            with ThreadPoolExecutor(4) as pool:
                for out in pool.map(model.predict_on_batch, [x] * 16):
                    np.testing.assert_array_equal(out, ref)
            rates = {n: throughput(model, x, n, args.seconds) for n in args.threads}
            base = rates[args.threads[0]]
            cells = "  ".join(
                f"{n} thr: {r:>10,.0f} rows/s ({r / base:4.2f}x)" for n, r in rates.items()
            )
            print(f"{title:32s} batch {batch:3d}  {cells}")


if __name__ == "__main__":
    main()
