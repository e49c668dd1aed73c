"""Where bf16 misses its throughput target: per op, fp32 against bf16.

    python bench/bf16_gap.py [--models mobilenet_v2,resnet50] [--batch 32]
                             [--rounds 9] [--target 1.7] [--top 25]

Each model loaded in fp32 and in bf16 at 1 thread; model.profile(x) of the
two taking turns (the order reversed each round), --rounds rounds, the median
per op (wall time on the op's own thread). Printed per op, sorted by the gap
bf16 - fp32 / target (the milliseconds this op keeps bf16 from `target` times
fp32's throughput; negative: ahead of it): fp32 ms, bf16 ms, their ratio and
the gap; then the totals, whose gap is what the whole model misses. Issue 15's
bf16 target is 1.7x fp32 on ResNet50 and MobileNetV2 at batch 32.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
from _harness import run_header

import tfjs_infer

HERE = Path(__file__).resolve().parent


def profiles(folder: Path, batch: int, rounds: int) -> tuple[list[str], dict[str, np.ndarray]]:
    """(op names with types, {precision: median ms per op})."""
    x = np.load(folder / "input.npy")
    x = np.ascontiguousarray(np.concatenate([x] * (batch // len(x) + 1))[:batch])
    kinds = ["fp32", "bf16"]
    models = {
        p: tfjs_infer.load_model(folder / "tfjs" / "model.json", precision=p, num_threads=1)
        for p in kinds
    }
    samples: dict[str, list[list[float]]] = {p: [] for p in kinds}
    ops: list[str] = []
    for r in range(rounds):
        for p in kinds if r % 2 == 0 else kinds[::-1]:
            rows = models[p].profile(x, rounds=1)
            ops = [f"{row['name']} ({row['type']})" for row in rows]
            samples[p].append([row["us"] for row in rows])
    return ops, {p: np.median(np.array(samples[p]), axis=0) / 1e3 for p in kinds}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--models-dir", type=Path, default=HERE / ".models")
    ap.add_argument("--models", default="mobilenet_v2")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--target", type=float, default=1.7)
    ap.add_argument("--top", type=int, default=25, help="ops shown, largest gap first")
    args = ap.parse_args()
    run_header("bf16_gap.py")
    for name in args.models.split(","):
        ops, med = profiles(args.models_dir / name, args.batch, args.rounds)
        fp32, bf16 = med["fp32"], med["bf16"]
        gap = bf16 - fp32 / args.target
        print(f"\n== {name}: batch {args.batch}, 1 thread, {args.rounds} rounds, medians (ms)")
        print(f"  {'op':44s} {'fp32':>8s} {'bf16':>8s} {'x':>5s} {'gap':>7s}")
        for i in np.argsort(-gap)[: args.top]:
            ratio = fp32[i] / bf16[i] if bf16[i] > 0 else float("nan")
            print(f"  {ops[i]:44s} {fp32[i]:8.2f} {bf16[i]:8.2f} {ratio:5.2f} {gap[i]:7.2f}")
        total = f"{fp32.sum():8.1f} {bf16.sum():8.1f} {fp32.sum() / bf16.sum():5.3f}"
        print(f"  {'all ops':44s} {total} {gap.sum():7.2f}")
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
