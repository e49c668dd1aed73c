"""A/B of an environment variable on MobileNetV2's depthwise layers, one by one.

    python bench/depthwise_ab.py --var TFJS_INFER_DW_EVEN_GROUPS --values 0,1 \
        [--rounds 7] [--reps 200] [--isa avx512]

Several variables at once: --var A+B --values 1+2,3+4 (A=1 B=2 against A=3 B=4).

Every distinct 3x3 depthwise layer of MobileNetV2 at 224x224 (batch 1, relu6,
'same' padding), run alone as a one-op model at 1 thread. The switches are
read once per process, so every round starts one fresh process per value
(order reversed each round); each process times every layer --reps times
(thread CPU time, 64-byte aligned input) and its median is one sample. Prints
per layer the median over the rounds for each value (us), the ratio to the
first value, GFLOP/s, the command, the CPU model and the load average. The
outputs are checked equal across the values bit for bit.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import numpy as np
from _harness import run_header

LAYERS = [  # (h, w, c, stride): MobileNetV2's depthwise layers
    (112, 112, 32, 1),
    (112, 112, 96, 2),
    (56, 56, 144, 1),
    (56, 56, 144, 2),
    (28, 28, 192, 1),
    (28, 28, 192, 2),
    (14, 14, 384, 1),
    (14, 14, 576, 1),
    (14, 14, 576, 2),
    (7, 7, 960, 1),
]

CHILD = r"""
import hashlib, json, sys, time
import numpy as np
from tfjs_infer import _core
layers, reps, isa = json.loads(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rng = np.random.default_rng(0)
res = []
for h, w, c, s in layers:
    g = _core.Graph()
    xin = g.add_input("x", [None, h, w, c], "float32")
    k = (rng.standard_normal((3, 3, c)) * 0.3).astype(np.float32)
    b = rng.standard_normal(c).astype(np.float32)
    attrs = {"strides": [s, s], "padding": "same", "activation": "relu6"}
    (y,) = g.add_op("depthwise_conv2d", "dw", [xin], attrs, {"kernel": k, "bias": b})
    g.set_outputs([y])
    m = _core.CompiledModel(g, isa=isa, num_threads=1)
    raw = np.empty(h * w * c * 4 + 64, np.uint8)
    off = -raw.ctypes.data % 64
    x = raw[off : off + h * w * c * 4].view(np.float32).reshape(1, h, w, c)
    x[...] = rng.standard_normal((1, h, w, c))
    out = m.run([x])[0]
    ts = []
    for _ in range(reps):
        t = time.thread_time()
        m.run([x])
        ts.append(time.thread_time() - t)
    res.append({"median": float(np.median(ts)),
                "digest": hashlib.sha256(np.ascontiguousarray(out).tobytes()).hexdigest()})
print(json.dumps(res))
"""


def one_sample(var: str, value: str, args: argparse.Namespace) -> list[dict]:
    """One fresh process with var=value (several: "A+B" and "a+b"): per layer
    its median and output digest."""
    names, values = var.split("+"), value.split("+")
    if len(names) != len(values):
        raise SystemExit(f"--values {value!r} does not give one value per name of {var!r}")
    env = dict(os.environ, **dict(zip(names, values)))
    cmd = [sys.executable, "-c", CHILD, json.dumps(LAYERS), str(args.reps), args.isa]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise RuntimeError(f"{var}={value}: " + (p.stderr.strip().splitlines() or ["?"])[-1])
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--var", required=True)
    ap.add_argument("--values", required=True, help="comma-separated; the first is the base")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--isa", default="avx512")
    args = ap.parse_args()
    run_header("depthwise_ab.py")
    values = args.values.split(",")
    samples: dict[str, list[list[dict]]] = {v: [] for v in values}
    for r in range(args.rounds):
        for v in values if r % 2 == 0 else values[::-1]:
            samples[v].append(one_sample(args.var, v, args))
    print(f"{'layer':>18}" + "".join(f"{v:>24}" for v in values), f"({args.var})")
    for i, (h, w, c, s) in enumerate(LAYERS):
        oh, ow = -(-h // s), -(-w // s)
        flops = 2.0 * oh * ow * c * 9
        meds = [float(np.median([smp[i]["median"] for smp in samples[v]])) for v in values]
        digests = {smp[i]["digest"] for v in values for smp in samples[v]}
        cells = "".join(
            f"{m * 1e6:9.1f} us {flops / m / 1e9:5.1f} GF {m / meds[0]:4.2f}x" for m in meds
        )
        same = "same bits" if len(digests) == 1 else "BITS DIFFER"
        print(f"{f'{h}x{w}x{c} /{s}':>18} {cells}  {same}")
    print("load average after:", " ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
