"""Compile-time graph passes: the optimized graph computes what the
unoptimized one does (within float rounding), with fewer ops."""

from __future__ import annotations

import numpy as np
import pytest

from tfjs_infer import _core

RNG = np.random.default_rng(5)


def _rand(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def _compile(build, optimize: bool) -> _core.CompiledModel:
    g = _core.Graph()
    build(g)
    return _core.CompiledModel(g, optimize=optimize)


def _types(model: _core.CompiledModel) -> list[str]:
    return [op[1] for op in model.ops()]


W = {"k1": _rand(6, 5), "b1": _rand(5), "k2": _rand(6, 5), "b2": _rand(5)}
BN = {
    "gamma": _rand(5),
    "beta": _rand(5),
    "moving_mean": _rand(5) * 3,
    "moving_variance": np.abs(_rand(5)) * 4 + 0.5,
}


def _dense_bn_add_relu(g: _core.Graph) -> None:
    x = g.add_input("x", [None, 6], "float32")
    (skip,) = g.add_op("dense", "pre", [x], {}, {"kernel": W["k1"], "bias": W["b1"]}, 1)
    (h,) = g.add_op("dense", "d", [x], {}, {"kernel": W["k2"], "bias": W["b2"]}, 1)
    bn = BN
    (h,) = g.add_op("batch_norm", "bn", [h], {"axis": -1, "epsilon": 1e-3}, bn, 1)
    (h,) = g.add_op("add", "add", [h, skip], {"same_shape": 1}, {}, 1)
    (h,) = g.add_op("activation", "relu", [h], {"activation": "relu"}, {}, 1)
    (drop,) = g.add_op("identity", "dropout", [h], {}, {}, 1)
    g.set_outputs([drop])


def test_fold_fuse_and_drop_match_unoptimized() -> None:
    plain = _compile(_dense_bn_add_relu, optimize=False)
    fused = _compile(_dense_bn_add_relu, optimize=True)
    assert _types(plain) == ["dense", "dense", "batch_norm", "add", "activation", "identity"]
    assert _types(fused) == ["dense", "dense"]
    x = _rand(9, 6)
    np.testing.assert_allclose(fused.run([x])[0], plain.run([x])[0], rtol=1e-5, atol=1e-5)


def test_add_without_same_shape_mark_is_not_fused() -> None:
    def build(g: _core.Graph) -> None:
        x = g.add_input("x", [None, 4], "float32")
        (h,) = g.add_op("dense", "d", [x], {}, {"kernel": _rand(4, 4)}, 1)
        (y,) = g.add_op("add", "add", [h, x], {}, {}, 1)
        g.set_outputs([y])

    assert _types(_compile(build, True)) == ["dense", "add"]


@pytest.mark.parametrize("also_output", [True, False])
def test_value_used_twice_is_not_fused(also_output: bool) -> None:
    def build(g: _core.Graph) -> None:
        x = g.add_input("x", [None, 4], "float32")
        (h,) = g.add_op("dense", "d", [x], {}, {"kernel": _rand(4, 4)}, 1)
        (y,) = g.add_op("activation", "act", [h], {"activation": "tanh"}, {}, 1)
        g.set_outputs([y, h] if also_output else [y])

    types = _types(_compile(build, True))
    assert types == (["dense", "activation"] if also_output else ["dense"])
