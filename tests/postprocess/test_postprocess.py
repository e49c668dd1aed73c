"""tfjs_infer.postprocess: argmax, top_k, threshold, decode_multilabel, Denormalize.

The expected values are written out by hand (small arrays) or come from an
independent numpy formulation (lexsort by score then index), never from the
functions under test.
"""

from __future__ import annotations

import doctest
import pickle

import numpy as np
import pytest

import tfjs_infer as ti
from tfjs_infer import postprocess
from tfjs_infer.errors import InputShapeError, InputValueError

PUBLIC = ["argmax", "top_k", "threshold", "decode_multilabel", "Denormalize"]


def test_docstring_examples_pass() -> None:
    result = doctest.testmod(postprocess, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    assert result.attempted >= 12


@pytest.mark.parametrize("name", PUBLIC)
def test_every_public_function_has_a_tested_example(name: str) -> None:
    obj = getattr(postprocess, name)
    tests = doctest.DocTestFinder().find(obj, name, globs={"np": np})
    assert sum(len(t.examples) for t in tests) >= 1, f"{name} has no docstring example"
    assert obj.__doc__ and len(obj.__doc__) > 80
    assert getattr(ti, name) is obj  # re-exported at the top level


def _reference_order(p: np.ndarray) -> np.ndarray:
    """Rows sorted by score descending, then index ascending (numpy lexsort)."""
    rows = p.reshape(-1, p.shape[-1])
    idx = np.arange(p.shape[-1])
    out = [np.lexsort((idx, -row)) for row in rows]
    return np.array(out).reshape(p.shape)


def test_argmax_ties_and_nan() -> None:
    p = np.array([[0.3, 0.3, 0.1], [0.1, np.nan, 0.9], [0.0, 0.0, 0.0]], dtype=np.float32)
    assert ti.argmax(p).tolist() == [0, 1, 0]
    assert ti.argmax(p[0]) == 0
    assert ti.argmax(p, axis=0).tolist() == [0, 1, 1]


def test_top_k_matches_an_independent_ranking_on_batches() -> None:
    rng = np.random.default_rng(3)
    # Few distinct values: many ties.
    p = rng.integers(0, 4, size=(50, 7)).astype(np.float32) / 4
    ref = _reference_order(p)
    for k in (1, 3, 7):
        r = ti.top_k(p, k)
        np.testing.assert_array_equal(r.indices, ref[:, :k])
        np.testing.assert_array_equal(r.scores, np.take_along_axis(p, ref[:, :k], axis=1))
        assert r.labels is None


def test_top_k_any_rank_and_labels() -> None:
    p = np.array([[[0.1, 0.6, 0.3], [0.5, 0.2, 0.3]], [[0.2, 0.2, 0.6], [0.4, 0.4, 0.2]]])
    r = ti.top_k(p, 2, labels=["a", "b", "c"])
    assert r.indices.shape == (2, 2, 2)
    assert r.labels == [[["b", "c"], ["a", "c"]], [["c", "a"], ["a", "b"]]]
    one = ti.top_k(np.array([0.1, 0.9, 0.0]), 2, labels=("x", "y", "z"))
    assert one.indices.tolist() == [1, 0]
    assert one.labels == ["y", "x"]
    assert one.scores.dtype == np.float64
    assert ti.top_k(np.ones((4, 3), np.float32), 1).scores.dtype == np.float32


def test_top_k_nan_ranks_first_like_argmax() -> None:
    p = np.array([[0.5, np.nan, 0.7, np.nan]])
    r = ti.top_k(p, 4)
    assert r.indices.tolist() == [[1, 3, 2, 0]]
    assert r.indices[0, 0] == ti.argmax(p)[0]


def test_top_k_on_each_output_of_a_multi_output_model() -> None:
    from fixture_utils import FIXTURES

    model = ti.load_model(FIXTURES / "tfjs" / "topo_two_in_two_out")
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal((6, *t.shape[1:])).astype(np.float32) for t in model.inputs]
    outs = model.predict(xs)
    for out in outs:
        r = ti.top_k(out, 2)
        np.testing.assert_array_equal(r.indices, _reference_order(out)[:, :2])
        assert ti.argmax(out).tolist() == _reference_order(out)[:, 0].tolist()


def test_top_k_errors_name_the_problem() -> None:
    p = np.zeros((2, 3))
    with pytest.raises(InputValueError, match="between 1 and 3"):
        ti.top_k(p, 4)
    with pytest.raises(InputValueError):
        ti.top_k(p, 0)
    with pytest.raises(InputShapeError, match="2 labels given for an output with 3 classes"):
        ti.top_k(p, 1, labels=["a", "b"])
    with pytest.raises(InputShapeError, match="scalar"):
        ti.top_k(np.float32(1.0), 1)
    with pytest.raises(InputValueError, match="dtype"):
        ti.top_k(np.array([["a", "b"]]), 1)
    # tfjs_infer errors are still ValueErrors.
    with pytest.raises(ValueError):
        ti.top_k(p, 9)


def test_threshold_binary_and_multilabel() -> None:
    binary = np.array([[0.1], [0.5], [0.51], [np.nan]], dtype=np.float32)
    assert ti.threshold(binary).tolist() == [[False], [False], [True], [False]]
    assert ti.threshold(binary, 0.05).ravel().tolist() == [True, True, True, False]
    multi = np.array([[0.9, 0.2, 0.4], [0.3, 0.8, 0.6]])
    assert ti.threshold(multi, [0.5, 0.5, 0.35]).tolist() == [
        [True, False, True],
        [False, True, True],
    ]
    logits = np.array([[-1.0, 0.0, 2.0]])
    assert ti.threshold(logits, 0.0).tolist() == [[False, False, True]]
    with pytest.raises(InputShapeError, match="broadcast"):
        ti.threshold(multi, [0.5, 0.5])
    with pytest.raises(InputValueError, match="NaN"):
        ti.threshold(multi, np.nan)


def test_decode_multilabel() -> None:
    p = np.array([[0.9, 0.1, 0.95, 0.6], [0.1, 0.2, 0.3, 0.4], [0.7, 0.7, 0.1, 0.7]])
    names = ["cat", "dog", "sofa", "lamp"]
    assert ti.decode_multilabel(p, names) == [["sofa", "cat", "lamp"], [], ["cat", "dog", "lamp"]]
    assert ti.decode_multilabel(p) == [[2, 0, 3], [], [0, 1, 3]]
    assert ti.decode_multilabel(p, names, threshold=0.65, with_scores=True) == [
        [("sofa", 0.95), ("cat", 0.9)],
        [],
        [("cat", 0.7), ("dog", 0.7), ("lamp", 0.7)],
    ]
    seq = np.stack([p, p[::-1]])  # (2, 3, 4): a sequence output
    got = ti.decode_multilabel(seq, names)
    assert got[0] == ti.decode_multilabel(p, names)
    assert got[1] == ti.decode_multilabel(p[::-1], names)
    assert ti.decode_multilabel(p[0], names) == ["sofa", "cat", "lamp"]
    assert ti.decode_multilabel(np.zeros((0, 4)), names) == []
    with pytest.raises(InputShapeError):
        ti.decode_multilabel(p, names[:3])


def test_decode_multilabel_agrees_with_threshold_and_ranking() -> None:
    rng = np.random.default_rng(5)
    p = rng.integers(0, 10, size=(40, 6)) / 10
    got = ti.decode_multilabel(p, threshold=0.45)
    order = _reference_order(p)
    for row, idx, out in zip(p, order, got):
        assert out == [int(i) for i in idx if row[i] > 0.45]


def test_denormalize_mean_std_and_min_max() -> None:
    y = np.array([[0.0, 1.0], [2.0, -1.0]], dtype=np.float32)
    d = ti.Denormalize(mean=[10.0, -3.0], std=[2.0, 0.5])
    np.testing.assert_array_equal(d(y), [[10.0, -2.5], [14.0, -3.5]])
    assert d(y).dtype == np.float64
    np.testing.assert_allclose(d.normalize(d(y)), y)
    scalar = ti.Denormalize(1000.0, 10.0)
    assert scalar(np.float32(0.5)) == 1005.0
    np.testing.assert_array_equal(scalar(y), y * 10.0 + 1000.0)
    mm = ti.Denormalize.from_min_max([0.0, 100.0], [50.0, 300.0])
    np.testing.assert_allclose(
        mm(np.array([[0.0, 0.0], [1.0, 0.5]])), [[0.0, 100.0], [50.0, 200.0]]
    )
    sym = ti.Denormalize.from_min_max(-5.0, 5.0, feature_range=(-1.0, 1.0))
    np.testing.assert_allclose(sym(np.array([-1.0, 0.0, 1.0])), [-5.0, 0.0, 5.0])
    # A sequence of predictions (batch, steps, features) works per feature too.
    seq = np.ones((2, 3, 2))
    np.testing.assert_array_equal(d(seq)[..., 0], 12.0)
    back = pickle.loads(pickle.dumps(d))
    np.testing.assert_array_equal(back(y), d(y))
    assert "mean=[10.0, -3.0]" in repr(d)


def test_denormalize_errors() -> None:
    d = ti.Denormalize([0.0, 1.0, 2.0], 1.0)
    with pytest.raises(InputShapeError, match="last axis must have 3"):
        d(np.zeros((4, 2)))
    with pytest.raises(InputShapeError):
        ti.Denormalize([0.0, 1.0], [1.0, 2.0, 3.0])
    with pytest.raises(InputValueError, match="finite"):
        ti.Denormalize(np.inf, 1.0)
    with pytest.raises(InputValueError, match="increasing"):
        ti.Denormalize.from_min_max(0.0, 1.0, feature_range=(1.0, 0.0))


def test_postprocess_is_vectorized() -> None:
    """A large batch costs numpy calls, not a Python loop per row (guards against regressions
    by counting the calls into a Python helper that a per-row loop would make)."""
    p = np.random.default_rng(1).random((20000, 10)).astype(np.float32)
    calls = {"n": 0}
    original = postprocess._rank_order

    def counting(arr: np.ndarray) -> np.ndarray:
        calls["n"] += 1
        return original(arr)

    postprocess._rank_order = counting
    try:
        assert ti.top_k(p, 3).indices.shape == (20000, 3)
        assert len(ti.decode_multilabel(p, threshold=0.9)) == 20000
    finally:
        postprocess._rank_order = original
    assert calls["n"] == 2
