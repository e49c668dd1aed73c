"""The bf16 direct small convolution (kernels' conv_direct_bf16 on the AVX-512
table with AVX512-BF16, ops/conv_direct.cpp): each output pixel's window
gathered in im2col order, rounded to bf16 and run through the bf16 GEMM's
vdpbf16ps steps on its own packed weights, so the bits are those of the bf16
GEMM path (TFJS_INFER_CONV_DIRECT_BF16=0: im2col + gemm_bf16, read when the
op is built) and of the numpy model (lowp_model.py) on numpy's im2col: 'same',
'valid' and explicit pads, stride 1 and 2, odd sizes, 1-4 and 16 channels
(one to five 32-tap chunks), 16-80 filters (one to five panels), relu, relu6,
linear, with and without bias, NaN and +-inf inside and in edge windows, 1
and 2 threads, batches of 1, 2 and 5. On the other tables the switch changes
nothing (the GEMM path runs either way)."""

from __future__ import annotations

import numpy as np
import pytest
from lowp_model import conv_pads, gemm_bf16

from graph_utils import conv_case_graph, conv_case_input
from tfjs_infer import _core

# The AVX512-BF16 kernels, bit for bit: AMX off where the CPU has it (conftest.py).
pytestmark = pytest.mark.usefixtures("bf16_without_amx")

ISAS = _core._testing.lowp_isas("bf16")
HAS_KERNEL = "avx512" in ISAS
ENV = "TFJS_INFER_CONV_DIRECT_BF16"

# (h, w, cin, cout, kernel, stride, padding, activation, bias): MobileNetV2's
# first layer on small odd images (12-pixel blocks, then 4, 2, 1; windows past
# the bottom and right edges); 1 channel, 'same' stride 1 (padding on every
# side); 2 channels 'valid' linear without bias (an even k, 18 taps); explicit
# pads wider than the kernel (whole windows in the padding); 4 channels (36
# taps: two chunks, a kernel row across the chunk border); 5x5 over 4
# channels (100 taps, three panels); 1x3 and 3x1 kernels, stride (2, 1); 16
# channels (144 taps); 80 filters (four panels, then one).
CASES = [
    (33, 31, 3, 32, 3, 2, "same", "relu6", True),
    (14, 61, 3, 32, 3, 2, "same", "relu6", True),
    (9, 30, 1, 16, 3, 1, "same", "relu", True),
    (10, 17, 2, 24, 3, 1, "valid", "linear", False),
    (8, 11, 3, 40, 3, 2, [4, 1, 0, 5], "relu", True),
    (12, 27, 4, 32, 3, 2, "same", "relu6", True),
    (13, 19, 4, 40, 5, 2, "same", "linear", True),
    (7, 40, 3, 16, (1, 3), (2, 1), "same", "linear", True),
    (11, 9, 3, 24, (3, 1), 1, "valid", "relu", False),
    (9, 26, 16, 48, 3, 1, "same", "relu", True),
    (10, 13, 3, 80, 3, 1, "same", "relu6", True),
]


def conv_parts(spec, seed):
    cin, cout, k, stride, bias = spec[2], spec[3], spec[4], spec[5], spec[8]
    kh, kw = k if isinstance(k, tuple) else (k, k)
    sh, sw = stride if isinstance(stride, tuple) else (stride, stride)
    rng = np.random.default_rng(seed)
    kernel = (rng.standard_normal((kh, kw, cin, cout)) * 0.4).astype(np.float32)
    b = (rng.standard_normal(cout) * 0.5).astype(np.float32) if bias else None
    return kernel, b, (sh, sw)


def conv_graph(spec, seed) -> _core.Graph:
    kernel, bias, _ = conv_parts(spec, seed)
    return conv_case_graph(spec, kernel, bias)


def reference(spec, seed, x: np.ndarray) -> np.ndarray:
    """numpy's im2col (zeros in the padding), then the numpy model of the
    bf16 product, bias and activation."""
    padding, act = spec[6], spec[7]
    kernel, bias, (sh, sw) = conv_parts(spec, seed)
    kh, kw, cin, cout = kernel.shape
    n, h, w, _ = x.shape
    if isinstance(padding, list):
        t, b, left, r = padding
        oh, ow = (h + t + b - kh) // sh + 1, (w + left + r - kw) // sw + 1
    else:
        t, b, oh = conv_pads(h, kh, sh, padding)
        left, r, ow = conv_pads(w, kw, sw, padding)
    xp = np.pad(x, ((0, 0), (t, b), (left, r), (0, 0)))
    taps = [
        xp[:, ky : ky + sh * (oh - 1) + 1 : sh, kx : kx + sw * (ow - 1) + 1 : sw, :]
        for ky in range(kh)
        for kx in range(kw)
    ]
    rows = np.stack(taps, axis=3).reshape(n * oh * ow, kh * kw * cin)
    y = gemm_bf16(rows, kernel.reshape(kh * kw * cin, cout), bias)
    if act in ("relu", "relu6"):
        y = np.maximum(y, np.float32(0))
    if act == "relu6":
        y = np.minimum(y, np.float32(6))
    return y.reshape(n, oh, ow, cout)


def inputs(spec, rows: int = 5, special: bool = False) -> np.ndarray:
    h, w, cin = spec[:3]
    return conv_case_input(spec, rows, seed=h * w + cin, special=special)


def build(graph, isa: str, threads: int, value: str, monkeypatch) -> _core.CompiledModel:
    monkeypatch.setenv(ENV, value)
    return _core.CompiledModel(graph, isa=isa, num_threads=threads, precision="bf16")


def assert_bits(got: np.ndarray, want: np.ndarray) -> None:
    np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))


def assert_model(got: np.ndarray, want: np.ndarray) -> None:
    """Bit for bit, but NaN against NaN (numpy's NaN signs are its own)."""
    nan = np.isnan(want)
    np.testing.assert_array_equal(np.isnan(got), nan)
    assert_bits(np.where(nan, 0, got).astype(np.float32), np.where(nan, 0, want).astype(np.float32))


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_direct_bf16_equals_gemm_path_and_numpy_model(case, isa, threads, monkeypatch):
    seed = case[0] * case[1] + case[3]
    g = conv_graph(case, seed)
    on = build(g, isa, threads, "1", monkeypatch)  # at any weight size
    off = build(g, isa, threads, "0", monkeypatch)
    for special in (False, True):
        x = inputs(case, special=special)
        got = on.run([x])[0]
        assert_bits(got, off.run([x])[0])
        assert_model(got, reference(case, seed, x))
        for rows in (1, 2):  # any batch gives a row the same bits
            assert_bits(on.run([x[:rows]])[0], got[:rows])
        if not special:
            assert np.abs(got).max() > 0  # not clipped away


@pytest.mark.skipif(not HAS_KERNEL, reason="no AVX512-BF16 kernel on this CPU")
@pytest.mark.parametrize(
    ("spec", "value", "taken"),
    [
        ((33, 31, 3, 32, 3, 2, "same", "relu6", True), None, True),  # the stem
        ((33, 31, 3, 32, 3, 2, "same", "relu6", True), "0", False),
        ((9, 26, 16, 48, 3, 1, "same", "relu", True), None, False),  # 27 KiB as fp32
        ((9, 26, 16, 48, 3, 1, "same", "relu", True), "1", True),
        ((9, 26, 3, 32, 3, 1, "same", "sigmoid", True), "1", False),
    ],
)
def test_direct_bf16_path_is_taken(spec, value, taken, monkeypatch):
    """The direct kernel needs no scratch (the GEMM path's im2col tiles): the
    rule of the fp32 kernel (a relu / relu6 / linear epilogue, weights up to
    16 KiB in the fp32 layout) unless =1 or =0 says otherwise."""
    if value is None:
        monkeypatch.delenv(ENV, raising=False)
    else:
        monkeypatch.setenv(ENV, value)
    m = _core.CompiledModel(conv_graph(spec, 1), isa="avx512", num_threads=1, precision="bf16")
    assert (m.workspace_bytes([[2, *spec[:3]]]) == 0) == taken
