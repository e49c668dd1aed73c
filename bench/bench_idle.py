"""Latency after idle, and small models on 1 vs 2 threads: the runtime half of
the performance issue.

For each model and thread count, one interleaved run measures
  hot:       median of back-to-back batch-1 predicts,
  idle:      median of single predicts each after `--idle-ms` of sleep,
and prints idle/hot (targets: <= 1.15x at 1 thread, <= 1.3x at 2 threads) and
hot(2 threads)/hot(1 thread) (target: <= 1.0 for small models).

    python bench/bench_idle.py [--idle-ms 50] [--rounds 41] [--models "Dense 10->10,..."]
                               [--bench-models mlp,mnist_cnn,lstm,text_cnn,mobilenet_v2]

--bench-models adds models from bench/.models (bench/make_bench_models.py).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from _harness import header, write_dense_model

import tfjs_infer

MODELS = {
    "Dense 10->10": ([10, 10], ["linear"]),
    "digits 64-64-10": ([64, 64, 10], ["relu", "softmax"]),
    "MLP 784-512-512-10": ([784, 512, 512, 10], ["relu", "relu", "softmax"]),
    "MLP 1024-2048-2048-10": ([1024, 2048, 2048, 10], ["relu", "relu", "softmax"]),
}


def measure(models: dict, idle_s: float, rounds: int, hot_calls: int) -> dict:
    """{(name, threads): (hot, idle)} medians in seconds; every (model, threads)
    pair takes its turn each round, in an order reversed every round."""
    keys = list(models)
    hot = {k: [] for k in keys}
    idle = {k: [] for k in keys}
    for fn in models.values():
        for _ in range(20):
            fn()
    for r in range(rounds):
        for k in keys if r % 2 == 0 else keys[::-1]:
            fn = models[k]
            for _ in range(5):
                fn()
            t = time.perf_counter()
            for _ in range(hot_calls):
                fn()
            hot[k].append((time.perf_counter() - t) / hot_calls)
            time.sleep(idle_s)
            t = time.perf_counter()
            fn()
            idle[k].append(time.perf_counter() - t)
    return {
        k: (float(np.median(hot[k])), float(np.median(idle[k])), float(np.percentile(idle[k], 90)))
        for k in keys
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--idle-ms", type=float, default=50.0)
    ap.add_argument("--rounds", type=int, default=41)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--bench-models", default="")
    args = ap.parse_args()
    header()
    info = tfjs_infer.build_info()
    print(f"thread pool: {info.get('thread_pool', 'OpenMP')}")
    names = [n for n in MODELS if n in args.models.split(",")]
    fns = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i, name in enumerate(names):
            sizes, acts = MODELS[name]
            write_dense_model(Path(tmp) / str(i), sizes, acts)
            x = np.random.default_rng(0).standard_normal((1, sizes[0])).astype(np.float32)
            for threads in (1, 2):
                m = tfjs_infer.load_model(Path(tmp) / str(i) / "model.json", num_threads=threads)
                fns[(name, threads)] = lambda m=m, x=x: m.predict(x)
    for name in filter(None, args.bench_models.split(",")):
        folder = Path(__file__).resolve().parent / ".models" / name
        x = np.ascontiguousarray(np.load(folder / "input.npy")[:1])
        for threads in (1, 2):
            m = tfjs_infer.load_model(folder / "tfjs" / "model.json", num_threads=threads)
            fns[(name, threads)] = lambda m=m, x=x: m.predict(x)
        names.append(name)
    res = measure(fns, args.idle_ms / 1e3, args.rounds, 20)
    print(
        f"\nbatch-1 predict, {args.rounds} interleaved rounds, "
        f"{args.idle_ms:g} ms idle before each 'idle' call"
    )
    print(
        f"{'model':>24} {'thr':>3} {'hot us':>9} {'idle us':>9} {'idle p90':>9} "
        f"{'idle/hot':>9} {'hot 2t/1t':>10}"
    )
    for name in names:
        for threads in (1, 2):
            hot, idle, p90 = res[(name, threads)]
            ratio = f"{hot / res[(name, 1)][0]:10.2f}" if threads == 2 else f"{'':>10}"
            print(
                f"{name:>24} {threads:>3} {hot * 1e6:9.1f} {idle * 1e6:9.1f} {p90 * 1e6:9.1f} "
                f"{idle / hot:9.2f} {ratio}"
            )


if __name__ == "__main__":
    main()
