"""Core ops behind the Keras-3-only layers against numpy references:
"attention", "group_norm", "rms_norm", "unit_norm"."""

from __future__ import annotations

import numpy as np
import pytest
from core_graph import run_op

RNG = np.random.default_rng(42)


def _attention_ref(q, k, v, heads, scale, mask=None, causal=False, window=0, zero_masked=False):
    n, tq, _ = q.shape
    tk = k.shape[1]
    q4 = q.reshape(n, tq, heads, -1).astype(np.float64)
    k4 = k.reshape(n, tk, heads, -1).astype(np.float64)
    v4 = v.reshape(n, tk, heads, -1).astype(np.float64)
    logits = np.einsum("bihd,bjhd->bhij", q4, k4) * scale
    keep = np.ones((n, 1, tq, tk), bool)
    if mask is not None:
        keep &= (mask != 0)[:, None]
    i, j = np.indices((tq, tk))
    if causal:
        keep &= (j <= i)[None, None]
    if window:
        keep &= (np.abs(i - j) < window)[None, None]
    keep = np.broadcast_to(keep, logits.shape)
    logits = np.where(keep, logits, -np.inf)
    best = logits.max(-1, keepdims=True)
    empty = ~keep.any(-1, keepdims=True)
    e = np.where(keep, np.exp(logits - np.where(empty, 0, best)), 0.0)
    p = e / np.where(empty, 1, e.sum(-1, keepdims=True))
    if not zero_masked:
        p = np.where(empty, 1.0 / tk, p)
    o = np.einsum("bhij,bjhd->bihd", p, v4).reshape(n, tq, -1)
    return o.astype(np.float32), p.astype(np.float32)


@pytest.mark.parametrize("heads, dk, dv", [(1, 3, 3), (2, 4, 5), (3, 1, 2)])
@pytest.mark.parametrize("zero_masked", [False, True])
def test_attention_matches_numpy(heads, dk, dv, zero_masked):
    n, tq, tk = 3, 5, 6
    q = RNG.normal(size=(n, tq, heads * dk)).astype(np.float32)
    k = RNG.normal(size=(n, tk, heads * dk)).astype(np.float32)
    v = RNG.normal(size=(n, tk, heads * dv)).astype(np.float32)
    mask = (RNG.uniform(size=(n, tq, tk)) > 0.4).astype(np.int32)
    mask[0, 1] = 0  # a fully masked row
    attrs = {
        "heads": heads,
        "scale": 0.7,
        "zero_masked": int(zero_masked),
        "return_scores": 1,
        "masks": "full",
    }
    o, p = run_op("attention", [q, k, v, mask], attrs, num_outputs=2)
    ro, rp = _attention_ref(q, k, v, heads, 0.7, mask, zero_masked=zero_masked)
    np.testing.assert_allclose(o, ro, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(p, rp, rtol=1e-5, atol=1e-6)


def test_attention_causal_window_float_mask():
    n, t = 2, 7
    q = RNG.normal(size=(n, t, 4)).astype(np.float32)
    v = RNG.normal(size=(n, t, 4)).astype(np.float32)
    mask = (RNG.uniform(size=(n, 1, t)) > 0.3).astype(np.float32)  # broadcast over queries
    mask[:, :, 0] = 1
    attrs = {"heads": 2, "scale": 0.5, "causal": 1, "window": 3, "masks": "full"}
    (o,) = run_op("attention", [q, q, v, mask], attrs)
    ro, _ = _attention_ref(q, q, v, 2, 0.5, np.broadcast_to(mask, (n, t, t)), causal=True, window=3)
    np.testing.assert_allclose(o, ro, rtol=1e-5, atol=1e-6)


def test_attention_additive_and_query_out_mask():
    n, tq, tk, d = 2, 3, 4, 5
    q = RNG.normal(size=(n, tq, d)).astype(np.float32)
    k = RNG.normal(size=(n, tk, d)).astype(np.float32)
    v = RNG.normal(size=(n, tk, 2)).astype(np.float32)
    qmask = np.array([[1, 0, 1], [1, 1, 0]], np.int32)
    w = RNG.uniform(0.5, 2, size=(d,)).astype(np.float32)
    attrs = {
        "heads": 1,
        "score": "additive",
        "add_inner": 0.8,
        "add_outer": 1.5,
        "masks": "query_out",
    }
    (o,) = run_op("attention", [q, k, v, qmask], attrs, weights={"add_scale": w})
    logits = 1.5 * (w * np.tanh(0.8 * (q[:, :, None, :] + k[:, None, :, :]))).sum(-1)
    p = np.exp(logits - logits.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    ref = np.einsum("bij,bjd->bid", p, v) * qmask[..., None]
    np.testing.assert_allclose(o, ref, rtol=1e-5, atol=1e-6)


def test_attention_rejects_bad_mask_shape():
    from tfjs_infer.errors import TfjsInferError

    q = np.zeros((1, 3, 4), np.float32)
    with pytest.raises(TfjsInferError, match=r"does not fit|do not split"):
        run_op("attention", [q, q, q, np.ones((1, 3, 2), np.int32)], {"heads": 2, "masks": "full"})


@pytest.mark.parametrize(
    "shape, axis, groups",
    [((3, 5, 12), 2, 4), ((2, 4, 3, 6), 3, 3), ((2, 4, 3, 6), 1, 2), ((3, 8), 1, 8)],
)
def test_group_norm(shape, axis, groups):
    x = (RNG.normal(size=shape) * 3 + 1).astype(np.float32)
    c = shape[axis]
    gamma = RNG.uniform(0.5, 2, size=(c,)).astype(np.float32)
    beta = RNG.normal(size=(c,)).astype(np.float32)
    (y,) = run_op(
        "group_norm",
        [x],
        {"axis": axis, "groups": groups, "epsilon": 1e-3},
        {"gamma": gamma, "beta": beta},
    )
    xs = np.moveaxis(x.astype(np.float64), axis, -1)
    g = xs.reshape(*xs.shape[:-1], groups, c // groups)
    g = np.moveaxis(g, -2, 1)  # (n, groups, ..., c/g)
    red = tuple(range(2, g.ndim))
    mean = g.mean(red, keepdims=True)
    var = g.var(red, keepdims=True)
    norm = np.moveaxis((g - mean) / np.sqrt(var + 1e-3), 1, -2).reshape(xs.shape)
    ref = np.moveaxis(norm * gamma + beta, -1, axis)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("axes", [[-1], [1, 2]])
def test_rms_and_unit_norm(axes):
    x = RNG.normal(size=(4, 5, 6)).astype(np.float32)
    x[0] = 0.0  # unit norm of a zero vector is zero
    red = tuple(a % 3 for a in axes)
    scale = RNG.uniform(0.5, 2, size=[x.shape[a] for a in red]).astype(np.float32)
    (y,) = run_op("rms_norm", [x], {"axes": axes, "epsilon": 1e-6}, {"scale": scale.reshape(-1)})
    xd = x.astype(np.float64)
    ref = xd / np.sqrt((xd**2).mean(red, keepdims=True) + 1e-6) * scale
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-6)
    (u,) = run_op("unit_norm", [x], {"axes": axes})
    ref = xd * np.minimum(1 / np.sqrt(np.maximum((xd**2).sum(red, keepdims=True), 1e-300)), 1e12)
    np.testing.assert_allclose(u, ref, rtol=1e-5, atol=1e-6)


def test_group_norm_rejects_indivisible_channels():
    from tfjs_infer.errors import TfjsInferError

    with pytest.raises(TfjsInferError, match=r"does not fit|do not split"):
        run_op("group_norm", [np.zeros((2, 7), np.float32)], {"axis": 1, "groups": 2})


def test_attention_is_bitwise_stable_across_threads_and_batches():
    q = RNG.normal(size=(6, 48, 64)).astype(np.float32)
    k = RNG.normal(size=(6, 40, 32)).astype(np.float32)
    v = RNG.normal(size=(6, 40, 32)).astype(np.float32)
    attrs = {"heads": 4, "kv_heads": 2, "scale": 0.25, "causal": 1}
    (one,) = run_op("attention", [q, k, v], attrs, num_threads=1)
    (two,) = run_op("attention", [q, k, v], attrs, num_threads=2)
    (part,) = run_op("attention", [q[2:3], k[2:3], v[2:3]], attrs, num_threads=2)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(one[2:3], part)
    ro, _ = _attention_ref(
        q,
        np.repeat(k.reshape(6, 40, 2, 16), 2, axis=2).reshape(6, 40, 64),
        np.repeat(v.reshape(6, 40, 2, 16), 2, axis=2).reshape(6, 40, 64),
        4,
        0.25,
        causal=True,
    )
    np.testing.assert_allclose(one, ro, rtol=1e-5, atol=1e-5)
