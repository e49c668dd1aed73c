"""A small 2D convolution (the first layer of image models: MobileNetV2's 3x3
stride-2 'same' with 3 channels and 32 filters) runs through the kernels'
conv_direct_f32, which makes each output pixel's values in registers, reading
the windows in the input itself (ops/conv_direct.cpp,
kernels/simd/conv_direct_simd.h): the same bits as its GEMM path
(TFJS_INFER_CONV_DIRECT=0, read when the op is built), on every ISA, at 1 and
2 threads, whatever the batch. TFJS_INFER_CONV_DIRECT=1 takes it at any weight
size, so larger layers test the column blocks too."""

from __future__ import annotations

import numpy as np
import pytest

import tfjs_infer
from graph_utils import conv_case_graph, conv_case_input
from tfjs_infer import _core

ISAS = tfjs_infer.available_isas()
# The tables that have the kernel (the others run the GEMM path).
DIRECT_ISAS = [isa for isa in ISAS if isa in ("avx2", "avx512")]
ENV = "TFJS_INFER_CONV_DIRECT"


def conv_graph(spec, seed):
    cin, cout, k, bias = spec[2], spec[3], spec[4], spec[8]
    kh, kw = k if isinstance(k, tuple) else (k, k)
    rng = np.random.default_rng(seed)
    kernel = (rng.standard_normal((kh, kw, cin, cout)) * 0.3).astype(np.float32)
    b = rng.standard_normal(cout).astype(np.float32) if bias else None
    return conv_case_graph(spec, kernel, b)


def build(graph, isa, threads, direct, monkeypatch):
    """direct: "1" (at any weight size), "0" (off) or None (the op's rule)."""
    if direct is None:
        monkeypatch.delenv(ENV, raising=False)
    else:
        monkeypatch.setenv(ENV, direct)
    return _core.CompiledModel(graph, isa=isa, num_threads=threads)


# (h, w, cin, cout, kernel, stride, padding, activation, bias): MobileNetV2's
# first layer on a small odd image (windows past the bottom and right edges;
# rows of 12-pixel blocks, a 4-pixel block and single pixels); 'same' stride 1
# (padding on every side); 'valid'; explicit pads wider than the kernel (whole
# windows in the padding); filters past a vector (7: one partial; 20; 40: two
# vectors then a partial one; 48: two then one on AVX-512); 1, 2 and 4
# channels; 5x5, 1x3 and 3x1 kernels, stride (2, 1); relu, relu6, linear, no
# bias; a wider layer (3x3x16x48, 27 KiB: with =1 only).
CASES = [
    (33, 31, 3, 32, 3, 2, "same", "relu6", True),
    (14, 61, 3, 32, 3, 2, "same", "relu6", True),
    (9, 30, 1, 7, 3, 1, "same", "relu", True),
    (10, 17, 2, 20, 3, 1, "valid", "linear", False),
    (8, 11, 3, 40, 3, 2, [4, 1, 0, 5], "relu", True),
    (12, 27, 4, 48, 5, 2, "same", "relu6", True),
    (7, 40, 3, 16, (1, 3), (2, 1), "same", "linear", True),
    (11, 9, 3, 24, (3, 1), 1, "valid", "relu", False),
    (9, 26, 16, 48, 3, 1, "same", "relu", True),
]


def inputs(spec, rows=5, special=False):
    return conv_case_input(spec, rows, seed=1, special=special)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_direct_equals_gemm_path(case, isa, threads, monkeypatch):
    g = conv_graph(case, seed=case[0] * case[1] + case[3])
    on = build(g, isa, threads, "1", monkeypatch)
    off = build(g, isa, threads, "0", monkeypatch)
    one = build(g, isa, 1, "0", monkeypatch)
    for special in (False, True):
        x = inputs(case, special=special)
        got = on.run([x])[0]
        np.testing.assert_array_equal(got, off.run([x])[0])
        np.testing.assert_array_equal(got, one.run([x])[0])
        for rows in (1, 2):  # any batch gives a row the same bits
            np.testing.assert_array_equal(on.run([x[:rows]])[0], got[:rows])


def test_direct_matches_numpy():
    """Against a float64 numpy convolution (the padding and the window
    geometry, independently of the GEMM path)."""
    spec = (13, 17, 3, 20, 3, 2, "same", "linear", True)
    g = conv_graph(spec, seed=3)
    rng = np.random.default_rng(3)
    kernel = (rng.standard_normal((3, 3, 3, 20)) * 0.3).astype(np.float32)
    bias = rng.standard_normal(20).astype(np.float32)
    x = inputs(spec, rows=2)
    xp = np.pad(x.astype(np.float64), ((0, 0), (1, 1), (1, 1), (0, 0)))  # same, stride 2
    want = np.zeros((2, 7, 9, 20))
    for oy in range(7):
        for ox in range(9):
            win = xp[:, 2 * oy : 2 * oy + 3, 2 * ox : 2 * ox + 3, :]
            want[:, oy, ox] = np.einsum("nhwc,hwcf->nf", win, kernel) + bias
    for isa in DIRECT_ISAS:
        got = _core.CompiledModel(g, isa=isa, num_threads=1).run([x])[0]
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def workspace(graph, isa, direct, monkeypatch, shape):
    return build(graph, isa, 1, direct, monkeypatch).workspace_bytes([shape])


@pytest.mark.parametrize("isa", DIRECT_ISAS)
@pytest.mark.parametrize(
    ("spec", "taken"),
    [
        ((33, 31, 3, 32, 3, 2, "same", "relu6", True), True),  # 3.4 KiB
        ((9, 26, 16, 48, 3, 1, "same", "relu", True), False),  # 27 KiB
        ((9, 26, 3, 32, 3, 1, "same", "sigmoid", True), False),
    ],
)
def test_direct_path_is_taken(spec, taken, isa, monkeypatch):
    """The direct kernel needs no scratch (the GEMM path's im2col tiles or
    padded image): taken for a relu / relu6 / linear epilogue and weights up
    to 16 KiB, not for 1x1 stride-1 convolutions."""
    g = conv_graph(spec, seed=0)
    shape = [2, *spec[:3]]
    sizes = [workspace(g, isa, direct, monkeypatch, shape) for direct in ("0", None)]
    assert sizes[0] != 0 or not taken
    assert (sizes[1] == 0) == taken


@pytest.mark.parametrize("isa", DIRECT_ISAS)
def test_direct_not_taken_past_its_tap_table(isa, monkeypatch):
    """The kernel holds at most 1024 taps (kh kw cin): 3x3x128 runs the GEMM
    path even with TFJS_INFER_CONV_DIRECT=1, 3x3x112 not."""
    for cin, taken in ((128, False), (112, True)):
        g = conv_graph((6, 6, cin, 16, 3, 1, "same", "relu", True), seed=0)
        size = workspace(g, isa, "1", monkeypatch, [1, 6, 6, cin])
        assert (size == 0) == taken


@pytest.mark.parametrize("isa", DIRECT_ISAS)
def test_direct_not_taken_for_dilation_or_a_residual(isa, monkeypatch):
    """The kernel has no dilation and no residual: a dilated convolution and
    one with a fused residual Add run the GEMM path even with
    TFJS_INFER_CONV_DIRECT=1 (their workspace holds the GEMM path's rows)."""
    kernel = np.ones((3, 3, 3, 16), np.float32)
    g = _core.Graph()
    xin = g.add_input("x", [None, 12, 12, 3], "float32")
    attrs = {"padding": "same", "dilations": [2, 2], "activation": "relu"}
    (y,) = g.add_op("conv2d", "conv", [xin], attrs, {"kernel": kernel})
    g.set_outputs([y])
    assert workspace(g, isa, "1", monkeypatch, [1, 12, 12, 3]) != 0
    g = _core.Graph()
    xin = g.add_input("x", [None, 12, 12, 3], "float32")
    res = g.add_input("r", [None, 12, 12, 16], "float32")
    attrs = {"padding": "same", "activation": "linear", "has_residual": 1}
    (y,) = g.add_op("conv2d", "conv", [xin, res], attrs, {"kernel": kernel})
    g.set_outputs([y])
    model = build(g, isa, 1, "1", monkeypatch)
    assert model.workspace_bytes([[1, 12, 12, 3], [1, 12, 12, 16]]) != 0
