"""The floor of a batch-1 dense chain whose weights stream from L3, beside the engines.

    python bench/gemv_roofline.py [--model mlp] [--rounds 9] [--threads 1] [--cxx c++]

At batch 1 a dense layer reads each weight once per call (a GEMV), so a chain
whose packed weights exceed the core's L2 (the MLP 784-512-512-10: 2.72 MB
packed against a 1 MiB L2) streams all of them from L3 on every call, and the
fp32 bits (the k order of every output's sum is fixed) leave only the memory
traffic to work on. This script compiles bench/gemv_roofline.cpp (g++, AVX-512)
and takes turns, each round, between:
  - the probe: one core reading buffers of the model's packed weight sizes
    over and over (64-byte loads, nothing else), on 4 KiB pages, on transparent
    huge pages, with the first buffer behind prefetchnta, and as 2-8 streams
    side by side (the GEMV tiles' pattern); and a 512 KiB buffer (the L2 rate);
  - tfjs-infer's `predict`, its bare `_core.run1` call and the sum of its ops'
    `profile` medians (the kernels alone), and LiteRT's
    set_tensor/invoke/get_tensor (as bench/compare.py times it), on the bench
    model at batch 1;
all timed by thread CPU time (the profile: wall time), medians over rounds.
`--cold` (the probe alone): 64 MiB of other data read before every pass, so
the weights come from memory as in a model larger than L3 (huge pages against
4 KiB pages there); `--sizes` probes other byte sizes. It
prints the target (0.9x the peer), the streaming floor (the fastest read
pattern on 4 KiB pages, as the engine's weights are), an upper bound on what
keeping a whole L2 of the weights resident could give, and what is left
for everything else (Python, the other ops, the epilogues): when the floor
alone is above the target, no schedule of the same fp32 weights reaches it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import run_header

HERE = Path(__file__).resolve().parent
PANEL = 32  # the AVX-512 GEMM's packed panel width in floats (kGemmNr)


def packed_sizes(model_json: Path) -> list[int]:
    """Bytes of each dense kernel once packed into 32-column panels."""
    manifest = json.loads(model_json.read_text())["weightsManifest"]
    sizes = []
    for group in manifest:
        for w in group["weights"]:
            if w["name"].endswith("kernel") and len(w["shape"]) == 2:
                k, n = w["shape"]
                sizes.append(k * -(-n // PANEL) * PANEL * 4)
    return sizes


def probe(exe: Path, sizes: list[int], cold: bool) -> dict[str, float]:
    """One short probe run: microseconds per pass by candidate."""
    argv = [str(exe), "3", "20" if cold else "200", ",".join(str(s) for s in sizes)]
    out = subprocess.run(
        argv + (["cold"] if cold else []), check=True, capture_output=True, text=True, timeout=300
    ).stdout
    us = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[1].replace(".", "", 1).isdigit():
            us[parts[0]] = float(parts[1])
    return us


def timed(fn: Callable[[], object], seconds: float = 0.3) -> float:
    """Median thread CPU seconds of fn() over about `seconds`."""
    for _ in range(5):
        fn()
    samples, end = [], time.perf_counter() + seconds
    while time.perf_counter() < end or len(samples) < 20:
        t = time.thread_time()
        fn()
        samples.append(time.thread_time() - t)
    return float(np.median(samples))


def sample(name: str, fn: Callable[[], object]) -> float:
    """Microseconds: the median call, or for the profile its op sum."""
    if name.endswith("(profile)"):
        return float(fn()[0]) * 1e6  # type: ignore[index]
    return timed(fn) * 1e6


def engines(folder: Path, threads: int) -> dict[str, Callable[[], object]]:
    import tfjs_infer

    x = np.load(folder / "input.npy")[:1].astype(np.float32)
    model = tfjs_infer.load_model(folder / "tfjs" / "model.json", num_threads=threads)
    run = {
        "tfjs-infer predict": lambda: model.predict(x, batch_size=1),
        "tfjs-infer _core.run1": lambda: model._core.run1(x),
    }
    # The ops alone: model.profile's per-op medians (wall time), summed; a
    # nested list so that timed() can keep the latest figure.
    ops = [0.0]

    def profile() -> object:
        ops[0] = sum(model._core.profile([x], 50)) * 1e-6
        return ops

    run["tfjs-infer ops (profile)"] = profile
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        print("LiteRT: not installed")
        return run
    it = Interpreter(model_path=str(folder / "model.tflite"), num_threads=threads)
    i = it.get_input_details()[0]
    if i["shape"][0] != 1:
        it.resize_tensor_input(i["index"], [1, *x.shape[1:]])
    it.allocate_tensors()
    ii, oi = it.get_input_details()[0]["index"], it.get_output_details()[0]["index"]

    def litert() -> object:
        it.set_tensor(ii, x)
        it.invoke()
        return it.get_tensor(oi)

    run["LiteRT"] = litert
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="mlp")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--models-dir", type=Path, default=HERE / ".models")
    parser.add_argument("--cxx", default=os.environ.get("CXX", "g++"))
    parser.add_argument(
        "--cold",
        action="store_true",
        help="the probe alone, 64 MiB of other data read before each pass (weights from memory)",
    )
    parser.add_argument("--sizes", help="probe these byte sizes (comma-separated), not the model's")
    args = parser.parse_args()
    import tfjs_infer

    run_header("gemv_roofline.py")  # the command, the CPU model and family, caches, load
    print(f"tfjs_infer {tfjs_infer.__file__}")
    folder = args.models_dir / args.model
    if args.sizes:
        sizes = [int(s) for s in args.sizes.split(",")]
    else:
        sizes = packed_sizes(folder / "tfjs" / "model.json")
    print(f"packed dense weights: {sizes} = {sum(sizes)} bytes; cold: {args.cold}")
    if not shutil.which(args.cxx):
        sys.exit(f"no C++ compiler '{args.cxx}' (set --cxx or CXX)")
    run = {} if args.cold or args.sizes else engines(folder, args.threads)
    samples: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        exe = Path(tmp) / "gemv_roofline"
        src = str(HERE / "gemv_roofline.cpp")
        build = [args.cxx, "-O2", "-std=c++17", "-mavx512f", src, "-o", str(exe)]
        print("build: " + " ".join(build))
        subprocess.run(build, check=True, timeout=300)
        names = list(run)
        for r in range(args.rounds):
            order = names if r % 2 == 0 else names[::-1]
            if r % 2:
                for name in order:
                    samples.setdefault(name, []).append(sample(name, run[name]))
            for name, us in probe(exe, sizes, args.cold).items():
                samples.setdefault("probe " + name, []).append(us)
            if r % 2 == 0:
                for name in order:
                    samples.setdefault(name, []).append(sample(name, run[name]))
    med = {name: float(np.median(v)) for name, v in samples.items()}
    print(f"\nmedians over {args.rounds} rounds, microseconds per call / per pass:")
    for name, us in med.items():
        extra = ""
        if name.startswith("probe ") and name != "probe l2":
            extra = f"  {sum(sizes) / us * 1e-3:6.1f} GB/s"
        if name == "probe l2":
            extra = f"  {512 * 1024 / us * 1e-3:6.1f} GB/s (512 KiB)"
        print(f"  {name:24s} {us:8.2f}{extra}")
    # The floor: the fastest 4 KiB-page read pattern (one stream or several
    # side by side; the engine's weights are on 4 KiB pages).
    patterns = ["probe 4k", "probe s1", "probe s2", "probe s4", "probe s8"]
    floor_name = min(patterns, key=lambda n: med[n])
    floor = med[floor_name]
    if not run:
        print(f"load average at end: {os.getloadavg()}")
        return
    ours, run1 = med["tfjs-infer predict"], med["tfjs-infer _core.run1"]
    ops = med["tfjs-infer ops (profile)"]
    # What L2 residency could give at most: one whole L2 (1 MiB) of the
    # weights read at the L2 rate instead of the L3 rate on every call.
    l3_rate, l2_rate = sum(sizes) / floor, 512 * 1024 / med["probe l2"]
    resident = min(1 << 20, sum(sizes))
    best = floor - resident / l3_rate + resident / l2_rate
    print(f"\nthe ops (profile) / the weight stream: {ops / floor:.3f}")
    print(
        f"tfjs-infer spends beyond the stream: {ours - floor:.2f} us"
        f" (predict - run1 {ours - run1:.2f}, run1 - ops {run1 - ops:.2f},"
        f" ops - stream {ops - floor:.2f})"
    )
    print(f"stream with 1 MiB of it resident in L2 (an upper bound): {best:.2f} us")
    if "LiteRT" in med:
        target = 0.9 * med["LiteRT"]
        print(f"tfjs-infer predict / LiteRT: {ours / med['LiteRT']:.3f}")
        print(
            f"0.9x LiteRT: {target:.2f} us; the weight stream alone ({floor_name}): {floor:.2f} us"
        )
        print(f"left for Python, the calls and the epilogues: {target - floor:.2f} us")
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
