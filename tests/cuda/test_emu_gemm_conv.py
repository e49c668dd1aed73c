"""CUDA GEMM, implicit-GEMM convolution and depthwise kernels against the CPU
engine (generic kernels and ops), at small and odd shapes, with every fusion
of the epilogue (bias, residual, activation, scale) and NaN/inf inputs.
Tolerances: see cuda_kernels.py (bit for bit under emulation)."""

from __future__ import annotations

import numpy as np
import pytest
from cuda_kernels import CT, needs_kernels, rand, run_op, same, tf_geometry, with_specials

from tfjs_infer import _core

pytestmark = needs_kernels
CPU = _core._testing


def cpu_gemm(a: np.ndarray, b: np.ndarray, **kw) -> np.ndarray:
    return CPU.gemm("generic", a, b, **kw)


@pytest.mark.parametrize("m, k, n", [(1, 1, 1), (3, 5, 7), (65, 17, 66), (70, 33, 130)])
def test_gemm_matches_cpu_bit_for_bit(m: int, k: int, n: int) -> None:
    rng = np.random.default_rng(m * 1000 + n)
    a, b = rand(rng, m, k), rand(rng, k, n)
    same(CT.gemm(a[None], b[None])[0], cpu_gemm(a, b))


@pytest.mark.parametrize(
    "act, alpha, beta, gamma",
    [
        ("relu", 0, 0, 0),
        ("relu6", 0, 0, 0),
        ("sigmoid", 0, 0, 0),
        ("gelu", 0, 0, 0),
        ("leaky_relu", 0.2, 0, 0),
        ("elu", 0.7, 0, 0),
        ("hard_sigmoid", 0.2, 0.5, 0),
        ("relu_general", 4.0, 0.5, 0.1),
        ("swish", 0, 0, 0),
    ],
)
def test_gemm_epilogue_bias_residual_activation(
    act: str, alpha: float, beta: float, gamma: float
) -> None:
    rng = np.random.default_rng(11)
    m, k, n = 19, 23, 37
    a, b = with_specials(rand(rng, m, k)), rand(rng, k, n)
    bias, res = rand(rng, n), rand(rng, m, n)
    kw = {"act": act, "alpha": alpha, "beta": beta, "gamma": gamma}
    got = CT.gemm(a[None], b[None], bias=bias, residual=res[None], **kw)[0]
    same(got, cpu_gemm(a, b, bias=bias, residual=res, **kw))


def test_gemm_batched_transposed_and_scaled() -> None:
    # batch_dot / attention's pieces: per-batch A . B^T, then a scale.
    rng = np.random.default_rng(5)
    a, bt = rand(rng, 3, 9, 13), rand(rng, 3, 11, 13)
    got = CT.gemm(a, bt, trans_b=True, scale=0.25)
    for i in range(3):
        want = cpu_gemm(a[i], np.ascontiguousarray(bt[i].T))
        same(got[i], (want * np.float32(0.25)).astype(np.float32))
    # scale 1 is skipped, not multiplied: -0 and NaN payloads stay as they are
    same(CT.gemm(a, bt, trans_b=True)[1], cpu_gemm(a[1], np.ascontiguousarray(bt[1].T)))


CONV_CASES = [
    # (n, h, w, cin, cout, kh, kw, stride, dil, same, groups)
    (1, 1, 1, 1, 1, 1, 1, (1, 1), (1, 1), False, 1),
    (2, 9, 7, 5, 11, 3, 3, (2, 1), (1, 1), True, 1),
    (1, 8, 9, 6, 4, 3, 2, (1, 1), (2, 1), True, 2),
    (2, 7, 8, 6, 9, 3, 3, (2, 2), (1, 1), True, 3),
    (3, 5, 6, 3, 67, 1, 1, (1, 1), (1, 1), False, 1),
    (1, 1, 13, 4, 6, 1, 5, (1, 3), (1, 1), False, 1),
]


@pytest.mark.parametrize("case", CONV_CASES)
@pytest.mark.parametrize("act", ["linear", "relu6", "tanh"])
def test_conv2d_matches_cpu_op(case: tuple, act: str) -> None:
    n, h, w, cin, cout, kh, kw, stride, dil, same_pad, groups = case
    rng = np.random.default_rng(cin * 31 + cout)
    x = with_specials(rand(rng, n, h, w, cin)) if act == "linear" else rand(rng, n, h, w, cin)
    wt = rand(rng, kh, kw, cin // groups, cout, scale=0.5)
    b = rand(rng, cout)
    attrs = {
        "strides": list(stride),
        "dilations": list(dil),
        "groups": groups,
        "padding": "same" if same_pad else "valid",
        "activation": act,
    }
    (want,) = run_op("conv2d", [x], attrs, {"kernel": wt, "bias": b}, "generic")
    oh, pt = tf_geometry(h, kh, stride[0], dil[0], same_pad)
    ow, pl = tf_geometry(w, kw, stride[1], dil[1], same_pad)
    got = CT.conv2d(x, wt, b, None, stride, dil, (pt, pl), (oh, ow), groups, act=act)
    same(got, want)


def test_conv2d_residual_epilogue_matches_gemm_of_im2col() -> None:
    # A 1x1 convolution is a GEMM over pixels: bias + residual + act fused.
    rng = np.random.default_rng(2)
    x, wt, b = rand(rng, 2, 3, 5, 7), rand(rng, 1, 1, 7, 9), rand(rng, 9)
    res = rand(rng, 2, 3, 5, 9)
    got = CT.conv2d(x, wt, b, res, (1, 1), (1, 1), (0, 0), (3, 5), 1, act="relu")
    want = cpu_gemm(
        x.reshape(-1, 7), wt.reshape(7, 9), bias=b, residual=res.reshape(-1, 9), act="relu"
    )
    same(got, want.reshape(2, 3, 5, 9))


@pytest.mark.parametrize(
    "h, w, k, stride, dil, same_pad, act",
    [
        (1, 1, 1, 1, 1, False, "linear"),
        (4, 5, 3, 2, 1, True, "relu"),
        (5, 3, 2, 3, 1, False, "tanh"),
        (3, 4, 3, 1, 2, True, "linear"),
    ],
)
def test_conv2d_transpose_matches_cpu_op(h, w, k, stride, dil, same_pad, act) -> None:
    rng = np.random.default_rng(h * w + k)
    x = with_specials(rand(rng, 2, h, w, 5))
    kernel, b = rand(rng, k, k, 7, 5, scale=0.5), rand(rng, 7)
    attrs = {
        "strides": [stride, stride],
        "dilations": [dil, dil],
        "activation": act,
        "padding": "same" if same_pad else "valid",
    }
    (want,) = run_op("conv2d_transpose", [x], attrs, {"kernel": kernel, "bias": b}, "generic")
    oh, ow = want.shape[1:3]
    k_eff = (k - 1) * dil + 1
    pads = [
        max((i - 1) * stride + k_eff - o, 0) // 2 if same_pad else 0 for i, o in ((h, oh), (w, ow))
    ]
    got = CT.conv2d_transpose(x, kernel, b, (stride, stride), (dil, dil), pads, (oh, ow), act=act)
    same(got, want)


DW_CASES = [
    # (n, h, w, c, k, stride, dil, same)
    (1, 1, 1, 1, 1, (1, 1), (1, 1), False),
    (2, 9, 11, 37, 3, (2, 2), (1, 1), True),
    (1, 7, 6, 5, 3, (1, 1), (2, 2), True),
    (1, 6, 10, 3, 5, (2, 3), (1, 1), False),
]


@pytest.mark.parametrize("case", DW_CASES)
@pytest.mark.parametrize("act", ["linear", "relu6", "sigmoid"])
def test_depthwise_matches_cpu_op(case: tuple, act: str) -> None:
    n, h, w, c, k, stride, dil, same_pad = case
    rng = np.random.default_rng(c * 7 + k)
    x = with_specials(rand(rng, n, h, w, c))
    wt, b = rand(rng, k, k, c, scale=0.5), rand(rng, c)
    attrs = {
        "strides": list(stride),
        "dilations": list(dil),
        "padding": "same" if same_pad else "valid",
        "activation": act,
    }
    (want,) = run_op("depthwise_conv2d", [x], attrs, {"kernel": wt, "bias": b}, "generic")
    oh, pt = tf_geometry(h, k, stride[0], dil[0], same_pad)
    ow, pl = tf_geometry(w, k, stride[1], dil[1], same_pad)
    same(CT.depthwise(x, wt, b, stride, dil, (pt, pl), (oh, ow), act=act), want)


@pytest.mark.parametrize("multiplier", [2, 3])
def test_depthwise_kernel_with_depth_multiplier(multiplier: int) -> None:
    rng = np.random.default_rng(multiplier)
    x = with_specials(rand(rng, 2, 6, 5, 3))
    wt, b = rand(rng, 3, 3, 3 * multiplier, scale=0.5), rand(rng, 3 * multiplier)
    attrs = {"strides": [1, 2], "dilations": [1, 1], "padding": "same", "activation": "tanh"}
    attrs["depth_multiplier"] = multiplier
    (want,) = run_op("depthwise_conv2d", [x], attrs, {"kernel": wt, "bias": b}, "generic")
    oh, pt = tf_geometry(6, 3, 1, 1, True)
    ow, pl = tf_geometry(5, 3, 2, 1, True)
    same(CT.depthwise(x, wt, b, (1, 2), (1, 1), (pt, pl), (oh, ow), act="tanh"), want)
