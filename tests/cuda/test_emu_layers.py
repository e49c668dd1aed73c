"""CUDA normalization, embedding, recurrent-step, attention and data-movement
kernels against the CPU engine's ops and kernels, at small and odd shapes with
NaN/inf planted. Tolerances: see cuda_kernels.py (bit for bit under emulation)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from cuda_kernels import CT, needs_kernels, rand, run_op, same, with_specials

from tfjs_infer import _core

pytestmark = needs_kernels
CPU = _core._testing


@pytest.mark.parametrize("shape, axes", [((3, 7), [-1]), ((2, 5, 4), [1]), ((2, 3, 4, 5), [2, 3])])
@pytest.mark.parametrize("rms_scaling", [0, 1])
def test_layer_norm_matches_cpu_op(shape: tuple, axes: list, rms_scaling: int) -> None:
    rng = np.random.default_rng(len(shape) + rms_scaling)
    x = rand(rng, *shape, scale=3.0)
    x.reshape(-1)[3] = np.nan
    normalized = [a % len(shape) for a in axes]
    lo, hi = min(normalized), max(normalized)
    length = math.prod(shape[lo : hi + 1])
    inner = math.prod(shape[hi + 1 :])
    gamma, beta = rand(rng, length), rand(rng, length)
    attrs = {"axes": axes, "epsilon": 1e-3, "rms_scaling": rms_scaling}
    (want,) = run_op(
        "layer_norm",
        [x],
        attrs,
        {"gamma": gamma.reshape(shape[lo : hi + 1]), "beta": beta.reshape(shape[lo : hi + 1])},
        "generic",
    )
    kind = "layer_rms" if rms_scaling else "layer"
    got = CT.span_norm(kind, x.reshape(-1, length, inner), gamma, beta, 1e-3)
    same(got.reshape(shape), want)


@pytest.mark.parametrize("op, kind", [("rms_norm", "rms"), ("unit_norm", "unit")])
def test_rms_and_unit_norm_match_cpu_op(op: str, kind: str) -> None:
    rng = np.random.default_rng(21)
    x = rand(rng, 3, 4, 9)
    x[1, 2] = 0.0  # unit norm of a zero vector
    x[2, 0, 4] = np.inf
    scale = rand(rng, 9) if op == "rms_norm" else None
    weights = {"scale": scale} if scale is not None else {}
    (want,) = run_op(op, [x], {"axes": [-1], "epsilon": 1e-6}, weights, "generic")
    same(CT.span_norm(kind, x.reshape(-1, 9, 1), scale, None, 1e-6).reshape(x.shape), want)


@pytest.mark.parametrize(
    "shape, axis, groups", [((3, 5, 12), 2, 4), ((2, 4, 3, 6), 3, 3), ((2, 4, 3, 6), 1, 2)]
)
def test_group_norm_matches_cpu_op(shape: tuple, axis: int, groups: int) -> None:
    rng = np.random.default_rng(groups)
    x = rand(rng, *shape, scale=2.0)
    c = shape[axis]
    gamma, beta = rand(rng, c), rand(rng, c)
    attrs = {"axis": axis, "groups": groups, "epsilon": 1e-3}
    (want,) = run_op("group_norm", [x], attrs, {"gamma": gamma, "beta": beta}, "generic")
    pre, post = math.prod(shape[1:axis]), math.prod(shape[axis + 1 :])
    got = CT.group_norm(x.reshape(shape[0], pre, c, post), groups, gamma, beta, 1e-3)
    same(got.reshape(shape), want)


def test_embedding_matches_cpu_op_and_reports_bad_ids() -> None:
    rng = np.random.default_rng(3)
    table = rand(rng, 10, 7)
    ids = np.array([[0, 9, 3], [2, 2, 7]], np.int32)
    (want,) = run_op("embedding", [ids], {}, {"embeddings": table}, "generic")
    got, bad = CT.embedding(ids, table)
    same(got, want)
    assert bad is None
    fids = np.array([[0.9, 9.5, 3.2], [2.0, 2.99, 7.1]], np.float32)  # truncated toward zero
    got, bad = CT.embedding(fids, table)
    same(got, want)
    got, bad = CT.embedding(np.array([1, 10, -1, 12], np.int32), table)
    assert bad == 1 and np.isnan(got[1]).all() and np.isnan(got[2]).all()
    _, bad = CT.embedding(np.array([3.0, np.nan], np.float32), table)
    assert bad == 1


GATES = {"simple": 1, "lstm": 4, "gru_reset_after": 3, "gru_zr": 2, "gru_h": 1}


@pytest.mark.parametrize("kind", list(GATES))
@pytest.mark.parametrize("units", [1, 7, 37])
@pytest.mark.parametrize(
    "ract, ract_alpha, ract_beta", [("sigmoid", 0, 0), ("hard_sigmoid", 0.2, 0.5)]
)
def test_rnn_gates_match_cpu_kernel(
    kind: str, units: int, ract: str, ract_alpha: float, ract_beta: float
) -> None:
    rng = np.random.default_rng(units)
    rows = 3
    pre = with_specials(rand(rng, rows, GATES[kind] * units, scale=2.0))
    x, h = rand(rng, rows, 3 * units), rand(rng, rows, units, scale=0.8)
    c, aux = rand(rng, rows, units), rand(rng, rows, units)
    got = CT.rnn_gates(
        kind, pre, h, c=c, x=x, aux=aux, ract=ract, ract_alpha=ract_alpha, ract_beta=ract_beta
    )
    _, w_pre, w_h, w_c, w_aux = CPU.rnn_gates(
        "generic", kind, x, pre, h, c, aux, "tanh", ract, ract_alpha, ract_beta
    )
    same(got["h"], w_h)
    same(got["pre"], w_pre)
    if kind == "lstm":
        same(got["c"], w_c)
    if kind in ("gru_zr", "gru_h"):
        same(got["aux"], w_aux)


ATTENTION_CASES = [
    # (n, tq, tk, heads, kv_heads, dk, dv, kwargs)
    (2, 3, 5, 1, 1, 4, 4, {}),
    (1, 7, 9, 4, 2, 3, 5, {"causal": True}),
    (2, 4, 4, 2, 2, 8, 8, {"window": 2, "zero_masked": True}),
    (1, 1, 1, 1, 1, 1, 1, {}),
]


def _attention_attrs(heads: int, kv_heads: int, scale: float, kw: dict) -> dict:
    attrs = {"heads": heads, "kv_heads": kv_heads, "scale": scale, "return_scores": 1}
    attrs.update({k: int(v) for k, v in kw.items()})
    return attrs


@pytest.mark.parametrize("case", ATTENTION_CASES)
def test_attention_matches_cpu_op(case: tuple) -> None:
    n, tq, tk, heads, kv_heads, dk, dv, kw = case
    rng = np.random.default_rng(tq * tk)
    q, k = rand(rng, n, tq, heads * dk), rand(rng, n, tk, kv_heads * dk)
    v = rand(rng, n, tk, kv_heads * dv)
    attrs = _attention_attrs(heads, kv_heads, 0.7, kw)
    want_o, want_p = run_op("attention", [q, k, v], attrs, isa="generic", num_outputs=2)
    o, p = CT.attention(q, k, v, heads, kv_heads, 0.7, return_scores=True, **kw)
    same(o, want_o)
    same(p, want_p)


@pytest.mark.parametrize("zero_masked", [False, True])
def test_attention_masks_and_nan(zero_masked: bool) -> None:
    rng = np.random.default_rng(9)
    n, tq, tk, d = 2, 4, 6, 3
    q, k, v = rand(rng, n, tq, d), rand(rng, n, tk, d), rand(rng, n, tk, d)
    q[1, 2, 0] = np.nan  # a NaN logit row
    full = (rng.random((n, tq, tk)) > 0.4).astype(np.int32)
    full[0, 1] = 0  # a row with every key masked
    key = (rng.random((n, tk)) > 0.2).astype(np.float32)
    qout = np.array([[1, 0, 1, 1], [1, 1, 1, 0]], np.float32)
    attrs = {
        "heads": 1,
        "masks": "full,key,query_out",
        "zero_masked": int(zero_masked),
        "return_scores": 1,
    }
    want_o, want_p = run_op(
        "attention", [q, k, v, full, key, qout], attrs, isa="generic", num_outputs=2
    )
    masks = [("full", full), ("key", key), ("query_out", qout)]
    o, p = CT.attention(q, k, v, zero_masked=zero_masked, return_scores=True, masks=masks)
    same(o, want_o)
    same(p, want_p)


def test_additive_attention_matches_cpu_op() -> None:
    rng = np.random.default_rng(10)
    q, k, v = rand(rng, 2, 3, 5), rand(rng, 2, 4, 5), rand(rng, 2, 4, 5)
    w = rand(rng, 5)
    attrs = {"score": "additive", "add_inner": 0.8, "add_outer": 1.5}
    (want,) = run_op("attention", [q, k, v], attrs, {"add_scale": w}, "generic")
    o, _ = CT.attention(q, k, v, additive=True, add_inner=0.8, add_outer=1.5, add_scale=w)
    same(o, want)


def _taps(size_in: int, size_out: int, bilinear: bool, half_pixel: bool) -> tuple:
    """TF.js (asymmetric, float64) or TF (half-pixel, float32) source taps."""
    lo, hi, frac = [], [], []
    for o in range(size_out):
        if not half_pixel:
            src = size_in / size_out * o
            a = min(size_in - 1, math.floor(src)) if not bilinear else max(0, math.floor(src))
            b = min(size_in - 1, math.ceil(src)) if bilinear else a
            f = src - a if bilinear else 0.0
        else:
            scale = np.float32(size_in) / np.float32(size_out)
            if not bilinear:
                a = max(0, min(size_in - 1, math.floor((np.float32(o) + np.float32(0.5)) * scale)))
                b, f = a, 0.0
            else:
                src = (np.float32(o) + np.float32(0.5)) * scale - np.float32(0.5)
                fl = np.floor(src)
                a, b, f = max(0, int(fl)), min(size_in - 1, math.ceil(src)), float(src - fl)
        lo.append(a)
        hi.append(b)
        frac.append(f)
    return np.array(lo, np.int64), np.array(hi, np.int64), np.array(frac, np.float64)


@pytest.mark.parametrize("method", ["nearest", "bilinear"])
@pytest.mark.parametrize("coords", ["asymmetric", "half_pixel"])
@pytest.mark.parametrize("size", [(7, 5), (2, 9)])
def test_resize_matches_cpu_op(method: str, coords: str, size: tuple) -> None:
    rng = np.random.default_rng(size[0])
    x = with_specials(rand(rng, 2, 4, 6, 3))
    attrs = {"method": method, "coords": coords, "size": list(size)}
    (want,) = run_op("resize", [x], attrs, isa="generic")
    bil, half = method == "bilinear", coords == "half_pixel"
    th, tw = _taps(4, size[0], bil, half), _taps(6, size[1], bil, half)
    got = CT.resize(x, size[0], size[1], bil, not half, *th, *tw)
    same(got, want)


@pytest.mark.parametrize("begin, end", [([1, 2], [0, 3]), ([-1, 0], [-1, 2]), ([0, -2], [2, -1])])
def test_pad_and_crop_match_cpu_op(begin: list, end: list) -> None:
    rng = np.random.default_rng(1)
    x = with_specials(rand(rng, 2, 5, 4, 3))
    attrs = {"begin": [*begin, 0], "end": [*end, 0]}
    (want,) = run_op("pad", [x], attrs, isa="generic")
    got = CT.pad(x, list(want.shape), [0, *begin, 0])
    same(got, want)


def test_repeat_matches_cpu_upsample() -> None:
    rng = np.random.default_rng(2)
    x = rand(rng, 2, 3, 4, 5)
    (want,) = run_op("upsample", [x], {"repeats": [2, 3, 1]}, isa="generic")
    same(CT.repeat(x, [1, 2, 3, 1]), want)


@pytest.mark.parametrize("perm", [[0, 2, 1], [0, 3, 1, 2], [0, 2, 3, 1]])
def test_transpose_matches_cpu_op(perm: list) -> None:
    rng = np.random.default_rng(len(perm))
    x = rand(rng, *(2, 3, 5, 4)[: len(perm)])
    (want,) = run_op("transpose", [x], {"perm": perm}, isa="generic")
    same(CT.transpose(x, perm), want)
