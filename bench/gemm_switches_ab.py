"""A bench model with the fp32 GEMM/conv switches of issue 15 off against on,
in one process, interleaved.

    python bench/gemm_switches_ab.py [--model resnet50] [--rounds 40] [--each] [--ort] [--profile 9]

"off": the model loaded with TFJS_INFER_RESIDUAL_IN_PLACE=0 (read when an op
is built) and run with the blocking's next_prefetch and l1_block_bytes at 0
(set before each of its calls through _testing.set_gemm_blocking); "on": this
CPU's parameters (build_info()["cpu"]["gemm"]) and the residual in place.
Each also alone ("next", "l1", "in place") with --each; --ort adds
onnxruntime's session on the model's model.onnx (1 thread) as one more
candidate taking its turns (its ratio to "off" beside ours). Outputs are checked
equal bit for bit first. Batch 1 (--batch), 1 thread, predict calls taking
turns, thread CPU time (time.thread_time), medians. --profile N: N rounds of
model.profile (wall time, 3 calls each) both ways, the layers that moved most.
Prints the command, the CPU model and the load average.
"""

from __future__ import annotations

import argparse
import collections
import os
import time
from pathlib import Path

import numpy as np
from _harness import ort_session, run_header

import tfjs_infer
from tfjs_infer import _core

HERE = Path(__file__).resolve().parent
T = _core._testing
VAR = "TFJS_INFER_RESIDUAL_IN_PLACE"


def load(folder: Path, in_place: bool):
    """The model loaded with the residual in place or apart."""
    saved = os.environ.get(VAR)
    os.environ[VAR] = "1" if in_place else "0"
    try:
        return tfjs_infer.load_model(folder / "tfjs" / "model.json", num_threads=1)
    finally:
        if saved is None:
            os.environ.pop(VAR, None)
        else:
            os.environ[VAR] = saved


def candidates(each: bool) -> dict[str, tuple[bool, dict]]:
    """Name -> (residual in place, blocking)."""
    on = dict(tfjs_infer.build_info()["cpu"]["gemm"])
    off = dict(on, next_prefetch=0, l1_block_bytes=0)
    out = {"off": (False, off), "on": (True, on)}
    if each:
        out["next"] = (False, dict(off, next_prefetch=on["next_prefetch"]))
        out["l1"] = (False, dict(off, l1_block_bytes=on["l1_block_bytes"]))
        out["in place"] = (True, off)
    return out


def ort_runner(path: Path, x: np.ndarray):
    """One onnxruntime inference on x, one thread (the session is made here)."""
    sess = ort_session(path, 1)
    feed = {sess.get_inputs()[0].name: x}
    return lambda: sess.run(None, feed)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model", default="resnet50")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=40, help="predict calls per candidate")
    ap.add_argument("--each", action="store_true", help="also each switch alone")
    ap.add_argument("--profile", type=int, default=0, help="rounds of per-layer profiles")
    ap.add_argument("--ort", action="store_true", help="onnxruntime (1 thread) takes turns too")
    args = ap.parse_args()
    run_header("gemm_switches_ab.py")
    folder = HERE / ".models" / args.model
    x = np.ascontiguousarray(np.load(folder / "input.npy")[: args.batch])
    models = {flag: load(folder, flag) for flag in (False, True)}
    cands = candidates(args.each)
    saved = tfjs_infer.build_info()["cpu"]["gemm"]

    def call(name: str, fn):
        in_place, blocking = cands[name]
        T.set_gemm_blocking(**blocking)
        return fn(models[in_place])

    try:
        outs = {n: call(n, lambda m: m.predict(x, batch_size=args.batch)) for n in cands}
        for n in cands:
            assert np.array_equal(outs[n], outs["off"]), f"{n}: outputs differ"
        runners = {
            n: (lambda n=n: call(n, lambda m: m.predict(x, batch_size=args.batch))) for n in cands
        }
        if args.ort:
            runners["onnxruntime"] = ort_runner(folder / "model.onnx", x)
        names = list(runners)
        for fn in runners.values():
            fn()
        times: dict[str, list[float]] = {n: [] for n in names}
        for r in range(args.rounds):
            for n in names if r % 2 == 0 else names[::-1]:
                t0 = time.thread_time()
                runners[n]()
                times[n].append((time.thread_time() - t0) * 1e3)
        base = float(np.median(times["off"]))
        for n in names:
            med = float(np.median(times[n]))
            print(f"{n:>9}: {med:8.2f} ms  {med / base:.3f}x off")
        prof: dict[str, dict[str, list[float]]] = {n: collections.defaultdict(list) for n in names}
        for r in range(args.profile):
            for n in ("off", "on") if r % 2 == 0 else ("on", "off"):
                for row in call(n, lambda m: m.profile(x, rounds=3)):
                    prof[n][row["name"]].append(row["us"])
        if args.profile:
            rows = []
            for layer, v in prof["off"].items():
                a, b = float(np.median(v)), float(np.median(prof["on"][layer]))
                rows.append((b - a, layer, a, b))
            rows.sort()
            print(f"{'layer':>26} {'off us':>9} {'on us':>9} {'ratio':>6}")
            for _, layer, a, b in rows[:25]:
                print(f"{layer:>26} {a:9.1f} {b:9.1f} {b / a:6.3f}")
    finally:
        T.set_gemm_blocking(**saved)
    print("load average after:", " ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
