"""int8 2D convolutions with kernels larger than 1x1 quantize their input
once per sample (cpp/ops/conv_int8.cpp), 1x1 ones per pixel (the GEMM's
per-row scheme): bit for bit against the numpy model of that scheme
(lowp_model.conv2d_int8: each image quantized with its own range, padded with
its zero point, exact integer sums, the float32 dequantization steps), on
every ISA with an int8 kernel, at 1 and 2 threads: random kernels (1x1 to
7x7, rectangular), strides 1 and 2, 'same' and 'valid' (with rows and
columns a strided window never reads), channel counts not a multiple of 4,
residuals. A sample's result does not depend on the other samples of the
batch, and a non-finite value makes only its own sample NaN (a KxK kernel:
all of it)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lowp_model import conv2d_int8, conv_pads, quantize_rows

from tfjs_infer import _core

ISAS = list(_core._testing.lowp_isas("int8"))


def conv_graph(
    x_shape: tuple[int, ...],
    w: np.ndarray,
    b: np.ndarray,
    stride: int,
    padding: str,
    residual_shape: tuple[int, ...] | None = None,
) -> _core.Graph:
    g = _core.Graph()
    inputs = [g.add_input("x", [None, *x_shape[1:]], "float32")]
    attrs = {"strides": [stride, stride], "padding": padding, "activation": "relu"}
    if residual_shape is not None:
        inputs.append(g.add_input("r", [None, *residual_shape[1:]], "float32"))
        attrs["has_residual"] = 1
    (y,) = g.add_op("conv2d", "conv", inputs, attrs, {"kernel": w, "bias": b})
    g.set_outputs([y])
    return g


def compiled(g: _core.Graph, isa: str, threads: int) -> _core.CompiledModel:
    model = _core.CompiledModel(g, isa=isa, num_threads=threads, optimize=False, precision="int8")
    assert list(model.op_precisions()) == ["int8"]
    return model


@st.composite
def conv_case(draw: st.DrawFn) -> tuple:
    k = draw(st.sampled_from([(1, 1), (3, 3), (3, 3), (1, 3), (2, 3), (5, 5), (7, 7)]))
    stride = draw(st.sampled_from([1, 2]))
    padding = draw(st.sampled_from(["same", "valid"]))
    h = draw(st.integers(k[0] if padding == "valid" else 1, 12))
    wd = draw(st.integers(k[1] if padding == "valid" else 1, 12))
    batch = draw(st.integers(1, 3))
    cin = draw(st.sampled_from([1, 3, 5, 16, 17, 64]))
    cout = draw(st.sampled_from([1, 7, 16, 33, 64]))
    return batch, h, wd, cin, cout, k, stride, padding, draw(st.integers(0, 2**31))


def case_data(case: tuple, residual: bool) -> tuple:
    batch, h, wd, cin, cout, k, stride, padding, seed = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, h, wd, cin)).astype(np.float32)
    x[:, ::2] = np.maximum(x[:, ::2], 0)  # unequal sides: zero points away from 128
    x *= rng.uniform(0.1, 10.0, size=(batch, 1, 1, 1)).astype(np.float32)  # per-sample ranges
    w = (rng.standard_normal((*k, cin, cout)) / math.sqrt(k[0] * k[1] * cin)).astype(np.float32)
    b = rng.standard_normal(cout).astype(np.float32)
    oh, ow = conv_pads(h, k[0], stride, padding)[2], conv_pads(wd, k[1], stride, padding)[2]
    r = rng.standard_normal((batch, oh, ow, cout)).astype(np.float32) if residual else None
    return x, w, b, r


@pytest.mark.parametrize("isa", ISAS)
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=conv_case(), residual=st.booleans())
def test_int8_conv_matches_per_sample_model(isa: str, case: tuple, residual: bool) -> None:
    x, w, b, r = case_data(case, residual)
    stride, padding = case[6], case[7]
    want = conv2d_int8(x, w, b, stride, padding, r, "relu")
    g = conv_graph(x.shape, w, b, stride, padding, None if r is None else r.shape)
    inputs = [x] if r is None else [x, r]
    for threads in (1, 2):
        got = compiled(g, isa, threads).run(inputs)[0]
        np.testing.assert_array_equal(got, want, err_msg=f"{isa} {threads} threads")


@pytest.mark.parametrize("gather", [False, True])
@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize(
    ("hw", "k", "stride", "cin", "cout"),
    [
        ((56, 56), 3, 1, 64, 64),  # ResNet50's 3x3 layers: several row tiles
        ((14, 14), 3, 1, 256, 256),  # split columns (weight heavy)
        ((28, 28), 1, 2, 256, 512),  # a strided 1x1 projection
        ((32, 32), 7, 2, 3, 64),  # the 7x7 stem (k = 147 bytes, segments of 21)
    ],
)
def test_int8_conv_resnet_shapes(
    monkeypatch: pytest.MonkeyPatch,
    isa: str,
    hw: tuple[int, int],
    k: int,
    stride: int,
    cin: int,
    cout: int,
    gather: bool,
) -> None:
    """Batch 3 as a whole and one sample at a time, 1 and 2 threads: the
    model's bits each time (a sample's scale is its own), with the quantized
    rows read in place by the AVX-512 kernel (segments of whole words: the 3x3
    layers, k blocks across segments at 14x14x256) or gathered first
    (TFJS_INFER_INT8_GATHER=1; the stem's 21-byte segments always)."""
    monkeypatch.setenv("TFJS_INFER_INT8_GATHER", "1" if gather else "0")
    rng = np.random.default_rng(cin + k)
    x = np.maximum(rng.standard_normal((3, *hw, cin)), -0.3).astype(np.float32)
    x[1] *= 5.0
    w = (rng.standard_normal((k, k, cin, cout)) / math.sqrt(k * k * cin)).astype(np.float32)
    b = rng.standard_normal(cout).astype(np.float32)
    want = conv2d_int8(x, w, b, stride, "same", None, "relu")
    g = conv_graph(x.shape, w, b, stride, "same")
    for threads in (1, 2):
        model = compiled(g, isa, threads)
        np.testing.assert_array_equal(model.run([x])[0], want)
        one = np.concatenate([model.run([x[i : i + 1]])[0] for i in range(3)])
        np.testing.assert_array_equal(one, want)


@pytest.mark.parametrize("isa", ISAS)
def test_int8_conv_non_finite_sample_is_nan_alone(isa: str) -> None:
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 6, 6, 5)).astype(np.float32)
    w = rng.standard_normal((3, 3, 5, 8)).astype(np.float32)
    b = np.zeros(8, np.float32)
    x[1, 2, 3, 4] = np.nan
    x[2, 0, 0, 0] = np.inf
    got = compiled(conv_graph(x.shape, w, b, 1, "same"), isa, 1).run([x])[0]
    assert np.isnan(got[1]).all() and np.isnan(got[2]).all()
    np.testing.assert_array_equal(got[0], conv2d_int8(x[:1], w, b, 1, "same", None, "relu")[0])


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("n", [1, 3, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 1000, 4099])
def test_sample_quantizer_matches_model(isa: str, n: int) -> None:
    """The range and quantize kernels over one sample of n values (vector
    bodies and every tail length), against lowp_model.quantize_rows."""
    rng = np.random.default_rng(n)
    x = (rng.standard_normal(n) * 3).astype(np.float32)
    x[::5] = np.abs(x[::5])
    if n > 10:
        x[7] = 0.5 * (x[3] + x[4])  # values near a rounding boundary are just values
    for sample in (x, np.abs(x), -np.abs(x), np.zeros_like(x), x * np.float32(1e-38)):
        got, scale, zp = _core._testing.int8_quantize_sample(isa, sample)
        q, want_scale, want_zp = quantize_rows(sample.reshape(1, -1))
        assert (np.float32(scale), zp) == (want_scale[0], want_zp[0])
        np.testing.assert_array_equal(got, q[0])


@pytest.mark.parametrize("isa", ISAS)
def test_sample_quantizer_non_finite(isa: str) -> None:
    x = np.ones(40, np.float32)
    x[33] = np.nan
    assert np.isnan(_core._testing.int8_quantize_sample(isa, x)[1])
    x[33] = -np.inf
    assert np.isnan(_core._testing.int8_quantize_sample(isa, x)[1])
