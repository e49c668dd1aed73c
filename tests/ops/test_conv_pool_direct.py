"""The fused conv2d + pooling op ("conv2d_pool") runs a small convolution with
a 4-cell pooling (2x2, 4x1, 1x4) through the kernels' conv_pool_f32, which
makes each pooled pixel's conv values in registers and pools them there
(ops/conv_pool.cpp, kernels/simd/conv_pool_simd.h): the same bits as its GEMM
path (TFJS_INFER_CONV_POOL_DIRECT=0, read when the op is built) and as the
unfused conv2d + pool, on every ISA, at 1 and 2 threads, whatever the batch.
TFJS_INFER_CONV_POOL_DIRECT=1 takes it at any weight size, so larger layers
test the column blocks too."""

from __future__ import annotations

import numpy as np
import pytest

import tfjs_infer
from tfjs_infer import _core

ISAS = tfjs_infer.available_isas()
# The tables that have the kernel (the others run the GEMM path).
DIRECT_ISAS = [isa for isa in ISAS if isa in ("avx2", "avx512")]
ENV = "TFJS_INFER_CONV_POOL_DIRECT"


def conv_pool_graph(spec, seed, from_lowest=False):
    h, w, cin, cout, k, stride, pool, mode, act, bias = spec
    rng = np.random.default_rng(seed)
    g = _core.Graph()
    xin = g.add_input("x", [None, h, w, cin], "float32")
    weights = {"kernel": (rng.standard_normal((k, k, cin, cout)) * 0.3).astype(np.float32)}
    if bias:
        weights["bias"] = rng.standard_normal(cout).astype(np.float32)
    attrs = {"strides": [stride, stride], "padding": "valid", "activation": act}
    (v,) = g.add_op("conv2d", "conv", [xin], attrs, weights)
    pattrs = {"mode": mode, "pool_size": list(pool), "strides": list(pool), "padding": "valid"}
    if from_lowest:  # TF's MaxPool: a window of NaN only gives the lowest float
        pattrs["max_from_lowest"] = 1
    (y,) = g.add_op("pool", "pool", [v], pattrs, {})
    g.set_outputs([y])
    return g


def build(graph, isa, threads, direct, monkeypatch, optimize=True):
    """direct: "1" (at any weight size), "0" (off) or None (the op's rule)."""
    if direct is None:
        monkeypatch.delenv(ENV, raising=False)
    else:
        monkeypatch.setenv(ENV, direct)
    return _core.CompiledModel(graph, isa=isa, num_threads=threads, optimize=optimize)


# (h, w, cin, cout, k, stride, pool, mode, activation, bias): the MNIST CNN's
# first layer; filters past a vector (7, 20: a partial vector; 40: two
# vectors then a partial one; 48: two then one on AVX-512); an odd pooled
# width (the 2-pixel blocks' remainder) and dropped conv rows and columns;
# stride 2; 4x1 and 1x4 pools; average pooling; relu6, linear, no bias; the
# MNIST CNN's second layer (288 x 64 weights, at any size with =1).
CASES = [
    (28, 28, 1, 32, 3, 1, (2, 2), "max", "relu", True),
    (12, 9, 1, 7, 3, 1, (2, 2), "max", "relu", True),
    (15, 14, 2, 20, 3, 1, (2, 2), "avg", "relu6", True),
    (11, 12, 3, 40, 3, 2, (2, 2), "max", "linear", False),
    (17, 9, 1, 48, 5, 1, (4, 1), "max", "relu", True),
    (9, 20, 4, 16, 2, 1, (1, 4), "avg", "linear", True),
    (13, 13, 32, 64, 3, 1, (2, 2), "max", "relu", True),
]


def inputs(spec, rows=5, special=False):
    h, w, cin = spec[:3]
    x = np.random.default_rng(1).standard_normal((rows, h, w, cin)).astype(np.float32)
    if special:  # NaN and infinities reach the pooling's max, NaN in first and later cells
        x[0, 2, 3, 0] = np.nan
        x[3, 1, 1, 0] = np.nan
        x[4, 0, 0, 0] = np.nan
        x[1, 3, 2, 0] = np.inf
        x[2, 5, 4, 0] = -np.inf
    return x


@pytest.mark.parametrize("from_lowest", [False, True])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_direct_equals_gemm_path_and_unfused(case, isa, threads, from_lowest, monkeypatch):
    g = conv_pool_graph(case, seed=case[0] * case[1] + case[3], from_lowest=from_lowest)
    on = build(g, isa, threads, "1", monkeypatch)
    off = build(g, isa, threads, "0", monkeypatch)
    plain = build(g, isa, 1, "0", monkeypatch, optimize=False)
    assert [o[1] for o in on.ops()] == ["conv2d_pool"]
    for special in (False, True):
        x = inputs(case, special=special)
        got = on.run([x])[0]
        np.testing.assert_array_equal(got, off.run([x])[0])
        np.testing.assert_array_equal(got, plain.run([x])[0])
        for rows in (1, 2):  # any batch gives a row the same bits
            np.testing.assert_array_equal(on.run([x[:rows]])[0], got[:rows])


def workspace(graph, isa, direct, monkeypatch, shape):
    return build(graph, isa, 1, direct, monkeypatch).workspace_bytes([shape])


@pytest.mark.parametrize("isa", DIRECT_ISAS)
@pytest.mark.parametrize(
    ("spec", "taken"),
    [
        ((28, 28, 1, 32, 3, 1, (2, 2), "max", "relu", True), {"avx2", "avx512"}),  # 1.1 KiB
        ((13, 13, 32, 64, 3, 1, (2, 2), "max", "relu", True), {"avx512"}),  # 72 KiB
        ((13, 13, 64, 128, 3, 1, (2, 2), "max", "relu", True), set()),  # 288 KiB
        ((28, 28, 1, 32, 3, 1, (3, 3), "max", "relu", True), set()),  # 9 cells
        ((28, 28, 1, 32, 3, 1, (2, 2), "max", "sigmoid", True), set()),
    ],
)
def test_direct_path_is_taken(spec, taken, isa, monkeypatch):
    """The fused kernel needs no scratch (the GEMM path's im2col rows or row
    pointers and conv rows): taken for a 4-cell pooling, a relu / relu6 /
    linear epilogue and weights up to 16 KiB (AVX2) or 128 KiB (AVX-512)."""
    g = conv_pool_graph(spec, seed=0)
    shape = [2, *spec[:3]]
    sizes = [workspace(g, isa, direct, monkeypatch, shape) for direct in ("0", None)]
    assert (sizes[0] != sizes[1]) == (isa in taken)


@pytest.mark.parametrize("isa", DIRECT_ISAS)
def test_direct_not_taken_for_padded_windows(isa, monkeypatch):
    """'same' windows reach into the padding: the GEMM path runs them."""
    g = _core.Graph()
    xin = g.add_input("x", [None, 12, 12, 1], "float32")
    kernel = np.ones((3, 3, 1, 16), np.float32)
    (v,) = g.add_op(
        "conv2d", "conv", [xin], {"padding": "same", "activation": "relu"}, {"kernel": kernel}
    )
    pattrs = {"mode": "max", "pool_size": [2, 2], "strides": [2, 2], "padding": "valid"}
    (y,) = g.add_op("pool", "pool", [v], pattrs, {})
    g.set_outputs([y])
    sizes = [workspace(g, isa, direct, monkeypatch, [1, 12, 12, 1]) for direct in ("0", "1")]
    assert sizes[0] == sizes[1]


@pytest.mark.parametrize("isa", DIRECT_ISAS)
def test_direct_not_taken_past_its_tap_table(isa, monkeypatch):
    """The kernel's tap offsets hold at most 4096 taps (kh kw cin): 3x3x512
    runs the GEMM path even with TFJS_INFER_CONV_POOL_DIRECT=1, 3x3x448 not."""
    for cin, taken in ((512, False), (448, True)):
        g = conv_pool_graph((6, 6, cin, 16, 3, 1, (2, 2), "max", "relu", True), seed=0)
        sizes = [workspace(g, isa, direct, monkeypatch, [1, 6, 6, cin]) for direct in ("0", "1")]
        assert (sizes[0] != sizes[1]) == taken
