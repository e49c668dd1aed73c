"""Feature extraction cost: a full model against submodels cut at
intermediate layers (Model.submodel), and predict(outputs=...) asking for an
intermediate tensor beside the final output.

    python bench/bench_submodel.py [--model bench/.models/mobilenet_v2/tfjs/model.json]
                                   [--batches 1,16] [--threads 2] [--rounds 15]

Default model: MobileNetV2 1.0 224 from bench/make_bench_models.py. Cuts:
the pooled embedding (the last GlobalAveragePooling2D layer, what Teachable
Machine keeps), the middle (``block_12_add``) and an early block
(``block_5_add``).
Figures are medians of interleaved rounds (every candidate once per round,
in alternating order) in one process, as ratios to the full model; no peer
engine is timed (a truncated graph is the same computation in each).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
from _harness import header, interleaved

import tfjs_infer

HERE = Path(__file__).resolve().parent
CUTS = ["<pooled>", "block_12_add", "block_5_add"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, default=HERE / ".models/mobilenet_v2/tfjs/model.json")
    ap.add_argument("--batches", default="1,16")
    ap.add_argument("--threads", type=int, default=0, help="0: all cores")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--cuts", default=",".join(CUTS))
    args = ap.parse_args()
    header()
    print(f"load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    full = tfjs_infer.load_model(args.model, num_threads=args.threads or None)
    pooled = [i.name for i in full.layers if i.class_name == "GlobalAveragePooling2D"]
    cuts = [pooled[-1] if c == "<pooled>" else c for c in args.cuts.split(",")]
    subs = {c: full.submodel(c) for c in cuts}
    final = full.outputs[0].name
    both = full.submodel([cuts[0], final])
    print(f"model: {args.model} ({len(full._core.ops())} ops compiled), threads {full.num_threads}")
    for c, s in subs.items():
        print(f"  submodel -> {c}: {len(s._core.ops())} ops, output {s.outputs[0].shape}")
    print(f"  predict(outputs=[{cuts[0]}, {final}]): {len(both._core.ops())} ops")
    rng = np.random.default_rng(0)
    for batch in map(int, args.batches.split(",")):
        shape = (batch, *full.inputs[0].shape[1:])
        x = rng.uniform(-1, 1, shape).astype(np.float32)
        cands = {"full": lambda x=x, b=batch: full.predict(x, batch_size=b)}
        for c, s in subs.items():
            cands[c] = lambda s=s, x=x, b=batch: s.predict(x, batch_size=b)
        cands["embedding+final"] = lambda x=x, b=batch: both.predict(x, batch_size=b)
        inner = 3 if batch == 1 else 1
        times = interleaved(cands, rounds=args.rounds, inner=inner)
        # What each cut should cost: the full model's per-op medians of the
        # ops the submodel runs (same names and types).
        per_op = {(r["name"], r["type"]): r["us"] for r in full.profile(x, rounds=args.rounds)}
        total = sum(per_op.values())
        print(f"\nbatch {batch}: median ms per call (ratio to the full model; expected ratio")
        print("  from the full model's per-op profile of the ops the submodel runs)")
        for name, t in times.items():
            sub = subs.get(name, both if name != "full" else full)
            ops = {(n, o) for n, o, _, _ in sub._core.ops()}
            expected = sum(us for key, us in per_op.items() if key in ops) / total
            print(
                f"  {name:28s} {t * 1e3:9.3f} ms  {t / times['full']:6.3f}x  "
                f"(expected {expected:5.3f}x)"
            )
    print(f"\nload average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
