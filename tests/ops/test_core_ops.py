"""Core ops against numpy references (written here, independent of the engine),
for every ISA this machine can run, including odd shapes."""

from __future__ import annotations

import math

import numpy as np
import pytest
from core_graph import run_op
from hypothesis import given, settings
from hypothesis import strategies as st

import tfjs_infer
from tfjs_infer.errors import InputShapeError, InvalidModelError, UnsupportedLayerError

ISAS = tfjs_infer.available_isas()
RNG = np.random.default_rng(1234)


def rand(*shape: int, scale: float = 1.0) -> np.ndarray:
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def _erf(x: np.ndarray) -> np.ndarray:
    return np.vectorize(math.erf)(x)


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(x, 0.0)


ACTIVATIONS = {
    "linear": (lambda x: x, {}),
    "relu": (lambda x: np.maximum(x, 0), {}),
    "relu6": (lambda x: np.clip(x, 0, 6), {}),
    "leaky_relu": (lambda x: np.where(x >= 0, x, 0.3 * x), {"act_alpha": 0.3}),
    "elu": (lambda x: np.where(x >= 0, x, 0.7 * np.expm1(x)), {"act_alpha": 0.7}),
    "selu": (
        lambda x: 1.0507009873554805 * np.where(x >= 0, x, 1.6732632423543772 * np.expm1(x)),
        {},
    ),
    "sigmoid": (lambda x: 1 / (1 + np.exp(-x)), {}),
    "hard_sigmoid": (lambda x: np.clip(0.2 * x + 0.5, 0, 1), {"act_alpha": 0.2, "act_beta": 0.5}),
    "softplus": (_softplus, {}),
    "softsign": (lambda x: x / (1 + np.abs(x)), {}),
    "tanh": (np.tanh, {}),
    "swish": (lambda x: x / (1 + np.exp(-x)), {}),
    "mish": (lambda x: x * np.tanh(_softplus(x)), {}),
    "gelu": (lambda x: 0.5 * x * (1 + _erf(x / np.sqrt(2))), {}),
    "gelu_tanh": (
        lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3))),
        {},
    ),
    "thresholded_relu": (lambda x: np.where(x > 0.5, x, 0), {"act_alpha": 0.5}),
    "exp": (np.exp, {}),
    "relu_general": (
        lambda x: np.where(x >= 1.0, np.minimum(x, 4.0), 0.1 * (x - 1.0)),
        {"act_alpha": 4.0, "act_beta": 1.0, "act_gamma": 0.1},
    ),
}


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("n", [1, 7, 16, 33, 1031])
def test_activation_op(isa: str, name: str, n: int) -> None:
    fn, params = ACTIVATIONS[name]
    x = rand(3, n, scale=4.0)
    got = run_op("activation", [x], {"activation": name, **params}, isa=isa)[0]
    want = fn(x.astype(np.float64))
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("log", [0, 1])
@pytest.mark.parametrize("cols", [1, 5, 17, 100])
def test_softmax_last_axis(isa: str, log: int, cols: int) -> None:
    x = rand(4, cols, scale=5.0).astype(np.float64)
    z = x - x.max(-1, keepdims=True)
    want = (
        z - np.log(np.exp(z).sum(-1, keepdims=True))
        if log
        else np.exp(z) / np.exp(z).sum(-1, keepdims=True)
    )
    got = run_op(
        "activation",
        [x.astype(np.float32)],
        {"activation": "log_softmax" if log else "softmax"},
        isa=isa,
    )[0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("axis", [1, 2, -1])
def test_softmax_any_axis(axis: int) -> None:
    x = rand(2, 5, 7, scale=3.0).astype(np.float64)
    z = np.exp(x - x.max(axis, keepdims=True))
    want = z / z.sum(axis, keepdims=True)
    got = run_op("softmax", [x.astype(np.float32)], {"axis": axis})[0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize(
    ("rows", "k", "n"),
    [(1, 1, 1), (1, 64, 10), (3, 17, 33), (37, 100, 47), (5, 31, 129), (64, 9, 200)],
)
@pytest.mark.parametrize("act", ["linear", "relu", "sigmoid", "softmax"])
def test_dense(isa: str, rows: int, k: int, n: int, act: str) -> None:
    x, w, b = rand(rows, k), rand(k, n), rand(n)
    y = x.astype(np.float64) @ w.astype(np.float64) + b
    if act == "relu":
        y = np.maximum(y, 0)
    elif act == "sigmoid":
        y = 1 / (1 + np.exp(-y))
    elif act == "softmax":
        e = np.exp(y - y.max(-1, keepdims=True))
        y = e / e.sum(-1, keepdims=True)
    got = run_op("dense", [x], {"activation": act}, {"kernel": w, "bias": b}, isa=isa)[0]
    np.testing.assert_allclose(got, y, rtol=1e-4, atol=1e-5)


def test_dense_rank3_and_no_bias() -> None:
    x, w = rand(2, 5, 7), rand(7, 3)
    got = run_op("dense", [x], {}, {"kernel": w})[0]
    np.testing.assert_allclose(got, np.einsum("btk,kn->btn", x, w), rtol=1e-5, atol=1e-5)


def test_dense_bad_input_width() -> None:
    with pytest.raises(InvalidModelError, match=r"last axis is 4"):
        run_op("dense", [rand(2, 5)], {}, {"kernel": rand(4, 3)})


MERGES = {
    "add": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "max": np.maximum,
    "min": np.minimum,
}


@pytest.mark.parametrize("op", sorted(MERGES))
@pytest.mark.parametrize(
    ("sa", "sb"),
    [((3, 5), (3, 5)), ((3, 4, 5), (3, 1, 5)), ((3, 4, 5), (3, 5)), ((2, 1, 6), (2, 4, 1))],
)
def test_merge_broadcast(op: str, sa: tuple, sb: tuple) -> None:
    a, b = rand(*sa), rand(*sb)
    bb = (
        b.reshape(b.shape[0], 1, *b.shape[1:]) if b.ndim < a.ndim else b
    )  # Keras: axis inserted at 1
    got = run_op(op, [a, b])[0]
    np.testing.assert_allclose(got, MERGES[op](a, bb), rtol=1e-6)


def test_mean_of_three() -> None:
    a, b, c = rand(4, 6), rand(4, 6), rand(4, 6)
    got = run_op("mean", [a, b, c])[0]
    np.testing.assert_allclose(got, (a.astype(np.float64) + b + c) / 3, rtol=1e-6)


def test_merge_incompatible() -> None:
    with pytest.raises(InvalidModelError, match="broadcast"):
        run_op("add", [rand(2, 3), rand(2, 4)])


@pytest.mark.parametrize("axis", [1, 2, -1])
def test_concat(axis: int) -> None:
    a, b = rand(2, 3, 4), rand(2, 3, 4)
    got = run_op("concat", [a, b], {"axis": axis})[0]
    np.testing.assert_array_equal(got, np.concatenate([a, b], axis=axis))


@settings(max_examples=25, deadline=None)
@given(dims=st.lists(st.integers(1, 5), min_size=2, max_size=5), data=st.data())
def test_transpose(dims: list[int], data: st.DataObject) -> None:
    perm = [0, *data.draw(st.permutations(list(range(1, len(dims)))))]
    x = rand(*dims)
    got = run_op("transpose", [x], {"perm": perm})[0]
    np.testing.assert_array_equal(got, np.transpose(x, perm))


def test_reshape_with_minus_one() -> None:
    x = rand(3, 4, 6)
    got = run_op("reshape", [x], {"shape": [2, -1]})[0]
    np.testing.assert_array_equal(got, x.reshape(3, 2, 12))
    with pytest.raises(InvalidModelError, match="reshape"):
        run_op("reshape", [x], {"shape": [5, -1]})


def test_repeat_vector() -> None:
    x = rand(3, 4)
    got = run_op("repeat_vector", [x], {"n": 5})[0]
    np.testing.assert_array_equal(got, np.repeat(x[:, None, :], 5, axis=1))


@pytest.mark.parametrize(
    ("sx", "sy", "axes"),
    [
        ((4, 6), (4, 6), [1, 1]),
        ((2, 3, 5), (2, 3, 4), [1, 1]),
        ((2, 3, 5), (2, 4, 5), [2, 2]),
        ((2, 3, 5), (2, 5), [2, 1]),
    ],
)
@pytest.mark.parametrize("normalize", [0, 1])
def test_batch_dot(sx: tuple, sy: tuple, axes: list[int], normalize: int) -> None:
    x32, y32 = rand(*sx), rand(*sy)
    x, y = x32.astype(np.float64), y32.astype(np.float64)
    if normalize:
        x = x / np.sqrt(np.maximum((x**2).sum(axes[0], keepdims=True), 1e-7))
        y = y / np.sqrt(np.maximum((y**2).sum(axes[1], keepdims=True), 1e-7))
    xm = np.moveaxis(x, axes[0], -1).reshape(sx[0], -1, sx[axes[0]])  # (N, free_x, K)
    ym = np.moveaxis(y, axes[1], 1).reshape(sy[0], sy[axes[1]], -1)  # (N, K, free_y)
    want = np.einsum("bik,bkj->bij", xm, ym)
    out_shape = [sx[0]] + [d for i, d in enumerate(sx) if i not in (0, axes[0])]
    out_shape += [d for i, d in enumerate(sy) if i not in (0, axes[1])]
    if len(out_shape) == 1:
        out_shape.append(1)
    attrs = {"axes": axes, "normalize": normalize, "norm_eps": 1e-7}
    got = run_op("batch_dot", [x32, y32], attrs)[0]
    np.testing.assert_allclose(got, want.reshape(out_shape), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    ("shape", "axis"), [((5, 3), -1), ((2, 3, 4), 1), ((2, 3, 4, 5), -1), ((2, 3, 4, 5), 2)]
)
def test_batch_norm(shape: tuple, axis: int) -> None:
    c = shape[axis]
    x = rand(*shape)
    mean, var = rand(c) * 3, np.abs(rand(c)) * 5 + 0.1
    gamma, beta = rand(c), rand(c)
    bshape = [1] * len(shape)
    bshape[axis] = c
    want = (x - mean.reshape(bshape)) / np.sqrt(var.reshape(bshape) + 1e-3) * gamma.reshape(
        bshape
    ) + beta.reshape(bshape)
    got = run_op(
        "batch_norm",
        [x],
        {"axis": axis, "epsilon": 1e-3},
        {"moving_mean": mean, "moving_variance": var, "gamma": gamma, "beta": beta},
    )[0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    ("shape", "axes"), [((4, 7), [-1]), ((2, 3, 5), [-1]), ((2, 3, 5), [1, 2]), ((2, 3, 5), [1])]
)
def test_layer_norm(shape: tuple, axes: list[int]) -> None:
    x = rand(*shape, scale=3.0).astype(np.float64)
    ax = tuple(a % len(shape) for a in axes)
    mean = x.mean(ax, keepdims=True)
    var = x.var(ax, keepdims=True)
    pshape = [shape[a] for a in ax]
    gamma, beta = rand(*pshape), rand(*pshape)
    bshape = [shape[i] if i in ax else 1 for i in range(len(shape))]
    want = (x - mean) / np.sqrt(var + 1e-3) * gamma.reshape(bshape) + beta.reshape(bshape)
    got = run_op(
        "layer_norm",
        [x.astype(np.float32)],
        {"axes": axes, "epsilon": 1e-3},
        {"gamma": gamma.reshape(-1), "beta": beta.reshape(-1)},
    )[0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_embedding_int_and_float_ids() -> None:
    table = rand(10, 4)
    ids = np.array([[0, 9, 3], [2, 2, 7]], np.int32)
    np.testing.assert_array_equal(
        run_op("embedding", [ids], {}, {"embeddings": table})[0], table[ids]
    )
    fids = np.array([[0.9, 9.5, 3.2], [2.0, 2.99, 7.1]], np.float32)  # truncated toward zero
    np.testing.assert_array_equal(
        run_op("embedding", [fids], {}, {"embeddings": table})[0], table[ids]
    )


@pytest.mark.parametrize("prefetch", ["1", "0"])
@pytest.mark.parametrize("threads", [1, 2])
def test_embedding_gather_of_many_rows(
    prefetch: str, threads: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Gathers long enough for the copies to run with rows requested ahead
    (TFJS_INFER_EMBED_PREFETCH, read at load; "0" the plain copies), split over
    threads: every row the table's, ids repeated and at both ends of the table."""
    monkeypatch.setenv("TFJS_INFER_EMBED_PREFETCH", prefetch)
    rng = np.random.default_rng(3)
    table = rand(3001, 130)  # 40 x 53 ids x 130 floats: enough work for two threads
    ids = rng.integers(0, 3001, size=(40, 53)).astype(np.int32)
    ids[0, :3] = [0, 3000, 3000]
    got = run_op("embedding", [ids], {}, {"embeddings": table}, num_threads=threads)[0]
    np.testing.assert_array_equal(got, table[ids])
    fids = ids.astype(np.float32) + 0.5  # truncated toward zero
    got = run_op("embedding", [fids], {}, {"embeddings": table}, num_threads=threads)[0]
    np.testing.assert_array_equal(got, table[ids])


def test_prelu_shared_axes() -> None:
    x = rand(2, 3, 4, 5)
    alpha = rand(1, 1, 5)
    got = run_op("prelu", [x], {}, {"alpha": alpha})[0]
    np.testing.assert_allclose(got, np.where(x >= 0, x, alpha[None] * x), rtol=1e-6)


def test_scale_shift_per_channel() -> None:
    x = rand(3, 4)
    got = run_op("scale_shift", [x], {"scale": [1.0, 2.0, 3.0, 4.0], "offset": [0.5]})[0]
    np.testing.assert_allclose(got, x * np.array([1, 2, 3, 4], np.float32) + 0.5, rtol=1e-6)


def test_unknown_op_type() -> None:
    with pytest.raises(UnsupportedLayerError, match="no op 'frobnicate'"):
        run_op("frobnicate", [rand(2, 2)])


def test_missing_attribute() -> None:
    with pytest.raises(InvalidModelError, match="'n'"):
        run_op("repeat_vector", [rand(2, 2)])


def test_run_shape_error_names_input() -> None:
    from tfjs_infer import _core

    g = _core.Graph()
    x = g.add_input("pixels", [None, 4], "float32")
    g.set_outputs(g.add_op("dense", "d", [x], {}, {"kernel": rand(4, 2)}))
    m = _core.CompiledModel(g)
    with pytest.raises(InputShapeError, match=r"pixels.*\(None, 4\).*\(2, 5\)"):
        m.run([rand(2, 5)])
