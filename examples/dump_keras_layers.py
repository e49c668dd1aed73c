"""Dump every layer's output of a Keras model, computed by real Keras, for
``tfjs-infer diff MODEL INPUT --reference acts.npz``.

Usage::

    python dump_keras_layers.py MODEL.keras INPUT.npy[,INPUT2.npy...] OUT.npz [--layer NAME ...]

MODEL is a ``.keras`` or ``.h5`` file. Each input is a .npy file (one per
model input, in order). OUT.npz gets one array per layer output, named as
tfjs-infer names them: the layer's name, ``outer/inner`` for a layer inside a
nested model, ``name:i`` for output i of a layer with several outputs (or of
a layer called several times). ``--layer`` keeps only the named ones.

Keras 3 by default; with ``TF_USE_LEGACY_KERAS=1`` it uses tf_keras (Keras 2)
instead. Each model level runs as a sub-model, ``keras.Model(model.inputs,
[layer outputs])``; a nested model is dumped by running it as its own model
on the value of its input.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

if os.environ.get("TF_USE_LEGACY_KERAS") == "1":
    import tf_keras as keras
else:
    import keras


def _calls(model, layer) -> list:
    """The nodes (calls) of `layer` that belong to `model`'s graph, in order."""
    if hasattr(model, "_network_nodes"):  # tf_keras
        return [
            node
            for k, node in enumerate(layer._inbound_nodes)
            if f"{layer.name}_ib-{k}" in model._network_nodes
        ]
    graph = getattr(model, "_functional", None) or model  # a Keras 3 Sequential wraps one
    return [  # Keras 3: node keys are "<id(layer)>_ib-<index>"
        node for k, node in enumerate(layer._inbound_nodes) if f"{id(layer)}_ib-{k}" in graph._nodes
    ]


def _as_list(x) -> list:
    return list(x) if isinstance(x, (list, tuple)) else [x]


def collect(model, inputs: list[np.ndarray], prefix: str, acc: dict[str, list]) -> None:
    """Run `model` on `inputs` and append every layer's outputs, call after
    call, to `acc` (name -> arrays). A nested model called several times is
    run once per call: its layers get the outputs of every call."""
    wanted: list[tuple[str, list]] = []
    nested: list[tuple[object, list[list]]] = []
    for layer in model.layers:
        calls = _calls(model, layer)
        wanted.append((prefix + layer.name, [t for n in calls for t in _as_list(n.output_tensors)]))
        if isinstance(layer, keras.Model):
            nested.append((layer, [_as_list(n.input_tensors) for n in calls]))
    fetch = [t for _, outs in wanted for t in outs] + [
        t for _, calls in nested for ins in calls for t in ins
    ]
    probe = keras.Model(model.inputs, fetch)
    values = _as_list(probe.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0))
    j = 0
    for name, outs in wanted:
        acc.setdefault(name, []).extend(np.asarray(v) for v in values[j : j + len(outs)])
        j += len(outs)
    for layer, calls in nested:
        for ins in calls:
            collect(layer, values[j : j + len(ins)], f"{prefix}{layer.name}/", acc)
            j += len(ins)


def named(acc: dict[str, list]) -> dict[str, np.ndarray]:
    """name -> arrays becomes the dump's names: "name", or "name:i" for several."""
    out: dict[str, np.ndarray] = {}
    for name, values in acc.items():
        if len(values) == 1:
            out[name] = values[0]
        else:
            out.update({f"{name}:{i}": v for i, v in enumerate(values)})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model")
    parser.add_argument("inputs", help="INPUT.npy, or several separated by commas")
    parser.add_argument("out")
    parser.add_argument("--layer", action="append", default=[], help="keep only these")
    args = parser.parse_args(argv)
    model = keras.models.load_model(args.model, compile=False)
    inputs = [np.load(p) for p in args.inputs.split(",")]
    acc: dict[str, list] = {}
    collect(model, inputs, "", acc)
    acts = named(acc)
    missing = [n for n in args.layer if n not in acts]
    if missing:
        print(f"no layer output named {missing}", file=sys.stderr)
        return 1
    keep = {n: a for n, a in acts.items() if not args.layer or n in args.layer}
    np.savez(args.out, **keep)
    print(f"wrote {args.out}: {len(keep)} arrays (Keras {keras.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
