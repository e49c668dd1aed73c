"""A fused residual Add writing its output over the residual's buffer, against
writing it to a buffer of its own (TFJS_INFER_RESIDUAL_IN_PLACE=0).

    python bench/residual_in_place.py [--rounds 15] [--model resnet50] [--model-rounds 40]

1. The raw GEMM of ResNet50's stage-2 1x1 convolutions with their residual
   (3136x64 . 64x256, relu), C and the residual cycling through --buffers
   different arrays (2: in L3 as in a model; 16: from memory), C apart from
   the residual or C = the residual; bits checked equal.
2. A bench model (bench/.models, make_bench_models.py) loaded twice in one
   process, with and without the variable (it is read when an op is built),
   batch 1, 1 thread, predict taking turns call by call.
One thread, thread CPU time (time.thread_time), medians; prints the command,
the CPU model and the load average.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
from _harness import run_header

import tfjs_infer
from tfjs_infer import _core

HERE = Path(__file__).resolve().parent
T = _core._testing
VAR = "TFJS_INFER_RESIDUAL_IN_PLACE"


def gemm_ab(buffers: int, rounds: int, calls: int = 20) -> dict[str, float]:
    """Median microseconds per residual GEMM call, C apart vs C = residual."""
    m, k, n = 3136, 64, 256
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k), dtype=np.float32)
    isas = T.available_isas()
    isa = "avx512" if "avx512" in isas else isas[-1]
    packed = T.pack_b(isa, rng.standard_normal((k, n), dtype=np.float32))
    res = [rng.standard_normal((m, n), dtype=np.float32) for _ in range(buffers)]
    outs = [np.empty((m, n), np.float32) for _ in range(buffers)]
    r0 = res[0].copy()
    apart = T.gemm(isa, a, packed, residual=r0, act="relu", out=np.empty_like(r0))
    over = T.gemm(isa, a, packed, residual=r0, act="relu", out=r0)
    assert np.array_equal(apart.view(np.uint32), over.view(np.uint32))
    samples: dict[str, list[float]] = {"apart": [], "in place": []}
    turn = 0
    for r in range(rounds):
        for mode in ("apart", "in place") if r % 2 == 0 else ("in place", "apart"):
            t0 = time.thread_time()
            for _ in range(calls):
                rr = res[turn % buffers]
                out = rr if mode == "in place" else outs[turn % buffers]
                T.gemm(isa, a, packed, residual=rr, act="relu", out=out)
                turn += 1
            samples[mode].append((time.thread_time() - t0) / calls * 1e6)
    return {mode: float(np.median(v)) for mode, v in samples.items()}


def model_ab(name: str, rounds: int) -> dict[str, float]:
    """Median milliseconds per batch-1 predict, the model loaded both ways."""
    folder = HERE / ".models" / name
    x = np.ascontiguousarray(np.load(folder / "input.npy")[:1])
    models = {}
    saved = os.environ.get(VAR)
    try:
        for mode, value in (("apart", "0"), ("in place", "1")):
            os.environ[VAR] = value
            models[mode] = tfjs_infer.load_model(folder / "tfjs" / "model.json", num_threads=1)
    finally:
        if saved is None:
            os.environ.pop(VAR, None)
        else:
            os.environ[VAR] = saved
    outs = {mode: m.predict(x, batch_size=1) for mode, m in models.items()}
    assert np.array_equal(outs["apart"], outs["in place"]), "outputs differ"
    samples: dict[str, list[float]] = {mode: [] for mode in models}
    for r in range(rounds):
        for mode in ("apart", "in place") if r % 2 == 0 else ("in place", "apart"):
            t0 = time.thread_time()
            models[mode].predict(x, batch_size=1)
            samples[mode].append((time.thread_time() - t0) * 1e3)
    return {mode: float(np.median(v)) for mode, v in samples.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rounds", type=int, default=15, help="GEMM rounds (median)")
    ap.add_argument("--model", default="resnet50")
    ap.add_argument("--model-rounds", type=int, default=40, help="predict calls per side")
    args = ap.parse_args()
    run_header("residual_in_place.py")
    for buffers in (2, 16):
        r = gemm_ab(buffers, args.rounds)
        print(
            f"GEMM 3136x64.64x256 + residual, {buffers:2d} buffers: apart {r['apart']:7.1f} us, "
            f"in place {r['in place']:7.1f} us ({r['in place'] / r['apart']:.3f}x)",
            flush=True,
        )
    if (HERE / ".models" / args.model).is_dir():
        r = model_ab(args.model, args.model_rounds)
        print(
            f"{args.model} batch 1: apart {r['apart']:.2f} ms, in place {r['in place']:.2f} ms "
            f"({r['in place'] / r['apart']:.3f}x)"
        )
    else:
        print(f"{args.model}: not in bench/.models (python bench/make_bench_models.py)")
    print("load average after:", " ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
