"""A fused LSTM / SimpleRNN cell ([x_t | h] . [W; U] + b per step) given a
batch of one row on one thread projects x_t W for every step first (one GEMM,
no bias) and continues each step's sums over h and U alone (the GEMV's
acc_in; ops/recurrent.cpp run_row_split): the same bits as the fused GEMV
(TFJS_INFER_RNN_SPLIT_X=0, read when the op is built) and as the same row in a
larger batch, on every ISA, with masks, initial states, go_backwards and
return_sequences."""

from __future__ import annotations

import numpy as np
import pytest

import tfjs_infer
from tfjs_infer import _core

ISAS = tfjs_infer.available_isas()
ENV = "TFJS_INFER_RNN_SPLIT_X"


def rnn_graph(cell, feats, units, steps, mask=False, states=False, **attrs):
    gates = {"lstm": 4, "simple_rnn": 1}[cell]
    rng = np.random.default_rng(feats * 100 + units)
    weights = {
        "kernel": (rng.uniform(-1, 1, (feats, gates * units)) * np.sqrt(3 / feats)),
        "recurrent_kernel": (rng.uniform(-1, 1, (units, gates * units)) * np.sqrt(3 / units)),
        "bias": rng.uniform(-0.5, 0.5, gates * units),
    }
    weights = {k: v.astype(np.float32) for k, v in weights.items()}
    g = _core.Graph()
    ins = [g.add_input("x", [None, steps, feats], "float32")]
    if mask:
        ins.append(g.add_input("mask", [None, steps], "float32"))
    for s in range(({"lstm": 2, "simple_rnn": 1}[cell]) if states else 0):
        ins.append(g.add_input(f"s{s}", [None, units], "float32"))
    a = {"cell": cell, "units": units, "activation": "tanh", "has_mask": int(mask), **attrs}
    if cell == "lstm":
        a["recurrent_activation"] = "sigmoid"
    outs = g.add_op("rnn", "rnn", ins, a, weights)
    g.set_outputs(list(outs))
    return g


def build(graph, isa, split, monkeypatch, threads=1):
    monkeypatch.setenv("TFJS_INFER_RNN_FUSED", "1")
    monkeypatch.setenv(ENV, "1" if split else "0")
    return _core.CompiledModel(graph, isa=isa, num_threads=threads)


def feeds(cell, n, feats, units, steps, mask, states):
    rng = np.random.default_rng(7)
    x = rng.uniform(-1, 1, (n, steps, feats)).astype(np.float32)
    out = [x]
    if mask:
        out.append((rng.random((n, steps)) > 0.3).astype(np.float32))
    for _ in range(({"lstm": 2, "simple_rnn": 1}[cell]) if states else 0):
        out.append(rng.uniform(-1, 1, (n, units)).astype(np.float32))
    return out


# (feats, units, steps): the bench LSTM's 32 x 128; units off every vector
# width (19: 76 columns, a partial GEMV block); more features than a quarter
# of the units (fused by TFJS_INFER_RNN_FUSED=1 only).
SHAPES = [(32, 128, 9), (5, 19, 13), (24, 40, 6)]
VARIANTS = [
    {},
    {"go_backwards": 1, "return_sequences": 1},
    {"mask": True},
    {"states": True, "return_state": 1},
    {"mask": True, "return_sequences": 1, "go_backwards": 1},
]


@pytest.mark.parametrize("variant", VARIANTS, ids=str)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("cell", ["lstm", "simple_rnn"])
@pytest.mark.parametrize("isa", ISAS)
def test_split_equals_fused_gemv_and_batch(isa, cell, shape, variant, monkeypatch):
    feats, units, steps = shape
    v = dict(variant)
    mask, states = v.pop("mask", False), v.pop("states", False)
    g = rnn_graph(cell, feats, units, steps, mask=mask, states=states, **v)
    split = build(g, isa, True, monkeypatch)
    fused = build(g, isa, False, monkeypatch)
    xs = feeds(cell, 3, feats, units, steps, mask, states)
    whole = split.run(xs)  # three rows: the fused GEMM, not the split
    for r in range(3):
        one = [a[r : r + 1] for a in xs]
        got = split.run(one)
        ref = fused.run(one)
        for a, b, w in zip(got, ref, whole):
            np.testing.assert_array_equal(a, b)
            np.testing.assert_array_equal(a, w[r : r + 1])


@pytest.mark.parametrize("isa", ISAS)
def test_split_takes_the_projection_scratch(isa, monkeypatch):
    """The split path holds the batch-1 projection (steps x 4u floats) in its
    workspace; the fused GEMV needs none."""
    g = rnn_graph("lstm", 32, 128, 9)
    sizes = [build(g, isa, s, monkeypatch).workspace_bytes([[1, 9, 32]]) for s in (False, True)]
    assert sizes[1] - sizes[0] >= 9 * 4 * 128 * 4
