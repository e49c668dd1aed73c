"""What choosing the semantics costs at load: load_model on the bench models'
model.json files (bench/make_bench_models.py) with the divergence check (the
second lowering that finds the layers where TF.js 4.22 and Keras differ) and
without it (that step replaced by "no layer differs"), interleaved, medians.

    python bench/semantics_load.py [--models mlp,lstm,mobilenet_v2,resnet50] [--reps 9]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings
from pathlib import Path

from _harness import header

import tfjs_infer
from tfjs_infer.frontend import semantics as semantics_module

MODELS = Path(__file__).resolve().parent / ".models"


def load_seconds(path: Path, check: bool) -> float:
    original = semantics_module._divergent_layers
    if not check:
        semantics_module._divergent_layers = lambda *a, **k: ([], None)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            tfjs_infer.load_model(path)
            return time.perf_counter() - start
    finally:
        semantics_module._divergent_layers = original


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="mlp,lstm,mobilenet_v2,resnet50")
    ap.add_argument("--reps", type=int, default=9)
    args = ap.parse_args()
    header()
    print(f"load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"{'model':<14}{'with check':>14}{'without':>14}{'ratio':>9}")
    for name in args.models.split(","):
        path = MODELS / name / "tfjs" / "model.json"
        if not path.is_file():
            print(f"{name:<14}no model.json (run bench/make_bench_models.py)")
            continue
        load_seconds(path, True)  # warm the file cache and imports
        times: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(args.reps):
            for check in (True, False):  # interleaved
                times[check].append(load_seconds(path, check))
        a, b = statistics.median(times[True]), statistics.median(times[False])
        print(f"{name:<14}{a * 1e3:>11.1f} ms{b * 1e3:>11.1f} ms{a / b:>9.2f}")
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
