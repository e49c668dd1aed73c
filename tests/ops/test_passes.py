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
    (skip,) = g.add_op("dense", "pre", [x], {}, {"kernel": W["k1"], "bias": W["b1"]})
    (h,) = g.add_op("dense", "d", [x], {}, {"kernel": W["k2"], "bias": W["b2"]})
    bn = BN
    (h,) = g.add_op("batch_norm", "bn", [h], {"axis": -1, "epsilon": 1e-3}, bn)
    (h,) = g.add_op("add", "add", [h, skip], {}, {})
    (h,) = g.add_op("activation", "relu", [h], {"activation": "relu"}, {})
    (drop,) = g.add_op("identity", "dropout", [h], {}, {})
    g.set_outputs([drop])


def test_fold_fuse_and_drop_match_unoptimized() -> None:
    plain = _compile(_dense_bn_add_relu, optimize=False)
    fused = _compile(_dense_bn_add_relu, optimize=True)
    assert _types(plain) == ["dense", "dense", "batch_norm", "add", "activation", "identity"]
    assert _types(fused) == ["dense", "dense"]
    x = _rand(9, 6)
    np.testing.assert_allclose(fused.run([x])[0], plain.run([x])[0], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("other", [[None, 1], [None, None]])
def test_add_not_known_to_keep_its_shape_is_not_fused(other: list) -> None:
    # The pass reads the values' shapes (recorded as the graph was built): an
    # add that broadcasts its second input, or may, stays an add.
    def build(g: _core.Graph) -> None:
        x = g.add_input("x", [None, 4], "float32")
        r = g.add_input("r", other, "float32")
        (h,) = g.add_op("dense", "d", [x], {}, {"kernel": _rand(4, 4)})
        (y,) = g.add_op("add", "add", [h, r], {}, {})
        g.set_outputs([y])

    assert _types(_compile(build, True)) == ["dense", "add"]


@pytest.mark.parametrize("also_output", [True, False])
def test_value_used_twice_is_not_fused(also_output: bool) -> None:
    def build(g: _core.Graph) -> None:
        x = g.add_input("x", [None, 4], "float32")
        (h,) = g.add_op("dense", "d", [x], {}, {"kernel": _rand(4, 4)})
        (y,) = g.add_op("activation", "act", [h], {"activation": "tanh"}, {})
        g.set_outputs([y, h] if also_output else [y])

    types = _types(_compile(build, True))
    assert types == (["dense", "activation"] if also_output else ["dense"])


def _bn(c: int) -> dict[str, np.ndarray]:
    return {
        "gamma": _rand(c),
        "beta": _rand(c),
        "moving_mean": _rand(c),
        "moving_variance": np.abs(_rand(c)) + 0.5,
    }


@pytest.mark.parametrize("groups", [1, 2])
def test_batch_norm_folds_into_conv_with_groups_and_twice(groups: int) -> None:
    """The folded scale is applied on the packed panels (per group slice);
    a second BatchNorm folds after the first one's scale is applied."""
    kernel, bn1, bn2 = _rand(3, 3, 4 // groups, 40), _bn(40), _bn(40)

    def build(g: _core.Graph) -> None:
        x = g.add_input("x", [None, 7, 7, 4], "float32")
        attrs = {"strides": [1, 1], "padding": "same", "groups": groups}
        (h,) = g.add_op("conv2d", "c", [x], attrs, {"kernel": kernel})
        (h,) = g.add_op("batch_norm", "bn1", [h], {"axis": -1}, bn1)
        (h,) = g.add_op("batch_norm", "bn2", [h], {"axis": -1}, bn2)
        g.set_outputs([h])

    plain, fused = _compile(build, False), _compile(build, True)
    assert _types(fused) == ["conv2d"]
    x = _rand(2, 7, 7, 4)
    np.testing.assert_allclose(fused.run([x])[0], plain.run([x])[0], rtol=1e-4, atol=1e-4)


def test_batch_norm_folds_into_depthwise_and_mobilenet_block() -> None:
    ke, kd, kp, kd2 = _rand(1, 1, 8, 24), _rand(3, 3, 24), _rand(1, 1, 24, 8), _rand(3, 3, 8)
    bns = [_bn(24), _bn(24), _bn(8), _bn(8)]

    def build(g: _core.Graph) -> None:
        x = g.add_input("x", [None, 9, 9, 8], "float32")
        (h,) = g.add_op("conv2d", "expand", [x], {}, {"kernel": ke})
        (h,) = g.add_op("batch_norm", "bn1", [h], {"axis": -1}, bns[0])
        (h,) = g.add_op("activation", "relu1", [h], {"activation": "relu6"}, {})
        attrs = {"strides": [1, 1], "padding": "same"}
        (h,) = g.add_op("depthwise_conv2d", "dw", [h], attrs, {"kernel": kd})
        (h,) = g.add_op("batch_norm", "bn2", [h], {"axis": -1}, bns[1])
        (h,) = g.add_op("activation", "relu2", [h], {"activation": "relu6"}, {})
        (h,) = g.add_op("conv2d", "project", [h], {}, {"kernel": kp})
        (h,) = g.add_op("batch_norm", "bn3", [h], {"axis": -1}, bns[2])
        (y,) = g.add_op("depthwise_conv2d", "dw2", [h], attrs, {"kernel": kd2})
        (y,) = g.add_op("batch_norm", "bn4", [y], {"axis": -1}, bns[3])
        g.set_outputs([y])

    plain, fused = _compile(build, False), _compile(build, True)
    assert _types(fused) == ["conv_chain", "depthwise_conv2d"]
    x = _rand(3, 9, 9, 8)
    np.testing.assert_allclose(fused.run([x])[0], plain.run([x])[0], rtol=1e-4, atol=1e-4)


def test_weights_are_borrowed_safely() -> None:
    """add_op references the numpy arrays instead of copying them: the core
    keeps them alive, compiling never writes into them, and a graph can be
    compiled twice."""
    import gc

    k, b = _rand(6, 5), _rand(5)
    k_before, b_before = k.copy(), b.copy()
    g = _core.Graph()
    x = g.add_input("x", [None, 6], "float32")
    (h,) = g.add_op("dense", "d", [x], {}, {"kernel": k, "bias": b})
    (h,) = g.add_op("batch_norm", "bn", [h], {"axis": -1}, _bn(5))
    g.set_outputs([h])
    first = _core.CompiledModel(g)  # the graph is copied: weights shared
    np.testing.assert_array_equal(k, k_before)  # the fold did not write into them
    np.testing.assert_array_equal(b, b_before)
    del k, b
    gc.collect()
    second = _core.CompiledModel(g, consume=True)
    xs = _rand(4, 6)
    np.testing.assert_array_equal(first.run([xs])[0], second.run([xs])[0])
    ref = (xs.astype(np.float64) @ k_before + b_before).astype(np.float32)
    assert np.all(np.isfinite(ref))


@pytest.mark.parametrize(
    ("conv_attrs", "pool_attrs", "fused"),
    [
        ({}, {}, True),  # non-overlapping 'valid' 2x2 after a plain conv2d
        ({"activation": "relu"}, {"strides": [2, 2]}, True),
        ({"activation": "softmax"}, {}, False),  # the conv's traits: not element-wise
        ({"groups": 2}, {}, False),  # grouped
        ({}, {"strides": [1, 1]}, False),  # the pooling's traits: overlapping
        ({}, {"padding": "same"}, False),
    ],
)
def test_conv_pool_fusion_asks_both_ops_traits(
    conv_attrs: dict, pool_attrs: dict, fused: bool
) -> None:
    kernel = _rand(3, 3, 4 // conv_attrs.get("groups", 1), 6)

    def build(g: _core.Graph) -> None:
        x = g.add_input("x", [None, 6, 6, 4], "float32")
        attrs = {"padding": "same", **conv_attrs}
        (h,) = g.add_op("conv2d", "conv", [x], attrs, {"kernel": kernel})
        (y,) = g.add_op("pool", "pool", [h], {"mode": "max", "pool_size": [2, 2], **pool_attrs})
        g.set_outputs([y])

    plain, opt = _compile(build, False), _compile(build, True)
    assert _types(opt) == (["conv2d_pool"] if fused else ["conv2d", "pool"])
    x = _rand(3, 6, 6, 4)
    np.testing.assert_array_equal(opt.run([x])[0], plain.run([x])[0])
