"""Depthwise 3x3: the interior pixels of a row are computed in groups of
several output pixels sharing input loads (8, 4, 2, 1 with AVX-512; 4, 2, 1
with AVX2), the group sizes depending on the row width. Every pixel's taps run
in the same order whatever its group, so each pixel must have the bits of its
3x3 window run alone, on every ISA."""

from __future__ import annotations

import numpy as np
import pytest

import tfjs_infer
from tfjs_infer import _core

ISAS = tfjs_infer.available_isas()


def run_dw(x: np.ndarray, attrs: dict, weights: dict, isa: str) -> np.ndarray:
    g = _core.Graph()
    xin = g.add_input("x", [None, *x.shape[1:]], "float32")
    (y,) = g.add_op("depthwise_conv2d", "dw", [xin], attrs, weights)
    g.set_outputs([y])
    model = _core.CompiledModel(g, isa=isa, num_threads=1, optimize=False)
    return model.run([np.ascontiguousarray(x, np.float32)])[0]


def ref_valid_3x3(x: np.ndarray, w: np.ndarray, b: np.ndarray, s: int) -> np.ndarray:
    """float64 'valid' 3x3 depthwise with stride s, then relu6."""
    oh, ow = (x.shape[1] - 3) // s + 1, (x.shape[2] - 3) // s + 1
    y = np.zeros((x.shape[0], oh, ow, x.shape[3]))
    for ky in range(3):
        for kx in range(3):
            y += x[:, ky : ky + (oh - 1) * s + 1 : s, kx : kx + (ow - 1) * s + 1 : s] * w[ky, kx]
    return np.clip(y + b, 0, 6)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("cin", [16, 21])
def test_depthwise_row_groups_do_not_change_bits(isa: str, stride: int, cin: int) -> None:
    """For every width from 1 to 28 interior pixels and 10 rows (full and
    partial channel blocks), each pixel has the bits of its window run alone
    and stays close to numpy."""
    rng = np.random.default_rng(11)
    w = (rng.standard_normal((3, 3, cin)) * 0.3).astype(np.float32)
    b = rng.standard_normal(cin).astype(np.float32)
    attrs = {"strides": [stride, stride], "padding": "valid", "activation": "relu6"}
    weights = {"kernel": w, "bias": b}
    rows = 10
    for n in range(1, 29):
        shape = (1, (rows - 1) * stride + 3, (n - 1) * stride + 3, cin)
        x = (rng.standard_normal(shape) * 2.0).astype(np.float32)
        got = run_dw(x, attrs, weights, isa)
        assert got.shape == (1, rows, n, cin)
        windows = np.stack(
            [
                x[0, j * stride : j * stride + 3, i * stride : i * stride + 3]
                for j in range(rows)
                for i in range(n)
            ]
        )
        alone = run_dw(windows, attrs, weights, isa)
        np.testing.assert_array_equal(got[0], alone.reshape(rows, n, cin), err_msg=f"{n} pixels")
        ref = ref_valid_3x3(x.astype(np.float64), w, b, stride)
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5)
