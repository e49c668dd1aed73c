"""What the HDF5 global-heap check (io/hdf5_guard.py) costs at load time.

    python bench/h5_guard.py [MODEL.h5 ...] [--rounds 15]

For each .h5 file (default: the fixtures' Keras .h5 models, and the bench
models' MobileNetV2 and ResNet50 when bench/.models holds them): the check
alone, and ``load_model`` with the check and with it replaced by a no-op,
interleaved round by round (bench/_harness.py), medians. The page cache is
warm (each file is read once before timing), as on a server loading a model
it just downloaded.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _harness import header, interleaved  # noqa: E402

import tfjs_infer as ti  # noqa: E402
from tfjs_infer.io import hdf5_guard, keras  # noqa: E402


def _default_models() -> list[Path]:
    fixtures = HERE.parent / "tests" / "fixtures"
    found = [
        fixtures / "keras2" / "sequential_in_sequential" / "model.h5",
        fixtures / "keras_conv" / "separable_conv1d_s2" / "model.h5",
    ]
    for name in ("mobilenet_v2", "resnet50"):
        path = HERE / ".models" / name / "model.h5"
        if path.is_file():
            found.append(path)
    return found


def main() -> None:
    """Print, per model, the check's time and the load time with and without it."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("models", nargs="*", type=Path)
    p.add_argument("--rounds", type=int, default=15)
    args = p.parse_args()
    header()
    print(f"load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    guard = keras.check_global_heaps_file

    def load_with(path: Path, check: object) -> None:
        keras.check_global_heaps_file = check  # type: ignore[assignment]
        try:
            ti.load_model(path, num_threads=1)
        finally:
            keras.check_global_heaps_file = guard

    print(f"{'model':<40} {'MB':>7} {'check':>9} {'load':>9} {'no check':>9} {'cost':>7}")
    for path in args.models or _default_models():
        path.read_bytes()  # warm the page cache
        times = interleaved(
            {
                "check": lambda path=path: hdf5_guard.check_global_heaps_file(path),
                "load": lambda path=path: load_with(path, guard),
                "no check": lambda path=path: load_with(path, lambda _p: None),
            },
            rounds=args.rounds,
            inner=1,
        )
        name = f"{path.parent.name}/{path.name}"
        cost = (times["load"] - times["no check"]) / times["no check"]
        print(
            f"{name:<40} {path.stat().st_size / 1e6:7.1f} {times['check'] * 1e3:7.2f}ms "
            f"{times['load'] * 1e3:7.1f}ms {times['no check'] * 1e3:7.1f}ms {cost:+7.1%}"
        )


if __name__ == "__main__":
    main()
