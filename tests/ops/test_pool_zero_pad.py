"""A ZeroPadding2D before a 2D pooling folds into the pool as 'explicit' pads
(compile/passes.cpp fold_pads_into_convs, ops/pooling.cpp): the padded cells
hold zeros that take part in every window (a max sees them, an average divides
by them). The folded op must give the unfused pad + 'valid' pool's bits on
every ISA, at 1 and 2 threads and any batch split, with NaN, -inf, -0.0 and
+0.0 in the input (the max's NaN skipping and the sign of a zero depend on the
order the cells come in); a float64 numpy pooling of the padded input checks
the values."""

from __future__ import annotations

import numpy as np
import pytest

import tfjs_infer
from tfjs_infer import _core

ISAS = tfjs_infer.available_isas()


def pad_pool_graph(shape, pads, mode, size, strides, from_lowest=False):
    """x -> pad (pads: (top, bottom, left, right)) -> 'valid' pool."""
    g = _core.Graph()
    x = g.add_input("x", [None, *shape[1:]], "float32")
    top, bottom, left, right = pads
    (p,) = g.add_op("pad", "pad", [x], {"begin": [top, left, 0], "end": [bottom, right, 0]}, {})
    attrs = {"mode": mode, "pool_size": list(size), "strides": list(strides), "padding": "valid"}
    if from_lowest:
        attrs["max_from_lowest"] = 1
    (y,) = g.add_op("pool", "pool", [p], attrs, {})
    g.set_outputs([y])
    return g


def numpy_pool(x, pads, mode, size, strides):
    """Pooling of the zero-padded input in float64 (finite inputs)."""
    top, bottom, left, right = pads
    xp = np.pad(x.astype(np.float64), ((0, 0), (top, bottom), (left, right), (0, 0)))
    oh = (xp.shape[1] - size[0]) // strides[0] + 1
    ow = (xp.shape[2] - size[1]) // strides[1] + 1
    y = np.empty((x.shape[0], oh, ow, x.shape[3]))
    for i in range(oh):
        for j in range(ow):
            win = xp[
                :,
                i * strides[0] : i * strides[0] + size[0],
                j * strides[1] : j * strides[1] + size[1],
            ]
            y[:, i, j] = win.max(axis=(1, 2)) if mode == "max" else win.mean(axis=(1, 2))
    return y


def awkward_input(shape, seed):
    """Random values with NaN, -inf, -0.0 and +0.0 sprinkled in."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(np.float32)
    pick = rng.random(shape)
    x[pick < 0.05] = np.nan
    x[(pick >= 0.05) & (pick < 0.08)] = -np.inf
    x[(pick >= 0.08) & (pick < 0.2)] = -0.0
    x[(pick >= 0.2) & (pick < 0.25)] = 0.0
    return x


# (H, W, C, pads (top, bottom, left, right), pool size, strides): ResNet50's
# pool1 (3x3 / 2 over 1 cell of zeros), asymmetric pads, windows entirely in
# the padding, non-square windows, channel counts around the vector widths.
CASES = [
    (12, 12, 64, (1, 1, 1, 1), (3, 3), (2, 2)),
    (9, 7, 5, (2, 0, 0, 3), (3, 2), (1, 2)),
    (5, 6, 17, (3, 3, 4, 4), (2, 2), (2, 2)),
    (8, 8, 70, (0, 1, 1, 0), (2, 3), (3, 1)),
    (4, 4, 1, (1, 2, 2, 1), (4, 4), (1, 1)),
    (7, 7, 16, (1, 1, 1, 1), (3, 3), (1, 1)),
]


@pytest.mark.parametrize("mode,from_lowest", [("max", False), ("max", True), ("avg", False)])
@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_folded_pad_pool_is_the_unfused_one(case, isa, mode, from_lowest):
    h, w, c, pads, size, strides = case
    g = pad_pool_graph((1, h, w, c), pads, mode, size, strides, from_lowest)
    x = awkward_input((5, h, w, c), seed=h * w + c)
    plain = _core.CompiledModel(g, isa=isa, num_threads=1, optimize=False)
    assert [o[1] for o in plain.ops()] == ["pad", "pool"]
    want = plain.run([x])[0]
    for threads in (1, 2):
        folded = _core.CompiledModel(g, isa=isa, num_threads=threads)
        assert [o[1] for o in folded.ops()] == ["pool"]
        got = folded.run([x])[0]
        np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))
        for rows in (1, 2):  # any batch gives a row the same bits
            part = folded.run([x[:rows]])[0]
            np.testing.assert_array_equal(part.view(np.uint32), want[:rows].view(np.uint32))


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_folded_pad_pool_values(case, mode):
    """The zeros take part: a window of negative values that reaches into the
    padding has max 0, and an average divides by the whole window."""
    h, w, c, pads, size, strides = case
    x = -np.abs(np.random.default_rng(c).standard_normal((2, h, w, c))).astype(np.float32) - 0.5
    got = _core.CompiledModel(pad_pool_graph(x.shape, pads, mode, size, strides)).run([x])[0]
    np.testing.assert_allclose(got, numpy_pool(x, pads, mode, size, strides), rtol=1e-6, atol=1e-6)


def test_resnet_pool1_shape_folds():
    """ZeroPadding2D(1) + MaxPooling2D(3, 2) on 112 x 112 x 64: one pool op,
    the workspace needs no padded copy."""
    g = pad_pool_graph((1, 112, 112, 64), (1, 1, 1, 1), "max", (3, 3), (2, 2))
    folded = _core.CompiledModel(g)
    assert [o[1] for o in folded.ops()] == ["pool"]
    x = np.random.default_rng(0).standard_normal((1, 112, 112, 64)).astype(np.float32)
    plain = _core.CompiledModel(g, optimize=False)
    np.testing.assert_array_equal(folded.run([x])[0], plain.run([x])[0])
    assert folded.run([x])[0].shape == (1, 56, 56, 64)
