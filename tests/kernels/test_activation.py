"""Raw activation and softmax kernels of every built ISA against float64 numpy.

The references are the formulas of kernels/generic/activation_scalar.h in
float64 (the gelus rewritten without cancellation for x << 0, which is the same
function). Each SIMD kind is held to the error bound stated in
cpp/kernels/simd/activation_simd.h: |got - ref| <= rtol |ref| + atol.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tfjs_infer import _core

try:
    from scipy.special import erfc as _erfc
except ImportError:  # scipy is optional
    _erfc = np.vectorize(math.erfc, otypes=[np.float64])

T = _core._testing
ISAS = T.available_isas()
SIMD = [isa for isa in ISAS if isa != "generic"]
THR = math.log(1.1920928955078125e-7) + 2.0  # TF.js softplus threshold
ULP = 2.0**-23  # relative spacing bound of float32 normals (1 ulp <= ULP |x|)

# kind: (alpha, beta, gamma)
PARAMS = {
    "linear": (0, 0, 0),
    "relu": (0, 0, 0),
    "relu6": (0, 0, 0),
    "relu_general": (4.0, 0.25, 0.1),
    "leaky_relu": (0.3, 0, 0),
    "elu": (1.0, 0, 0),
    "selu": (0, 0, 0),
    "sigmoid": (0, 0, 0),
    "hard_sigmoid": (0.2, 0.5, 0),
    "softplus": (0, 0, 0),
    "softsign": (0, 0, 0),
    "tanh": (0, 0, 0),
    "swish": (0, 0, 0),
    "mish": (0, 0, 0),
    "gelu": (0, 0, 0),
    "gelu_tfjs": (0, 0, 0),
    "gelu_tanh": (0, 0, 0),
    "thresholded_relu": (1.0, 0, 0),
    "exp": (0, 0, 0),
}
# Bitwise equal to the generic kernel (one rounding of the same expression).
EXACT = [
    "linear",
    "relu",
    "relu6",
    "relu_general",
    "leaky_relu",
    "hard_sigmoid",
    "thresholded_relu",
]
# SIMD error bounds in ulp for |ref| >= TINY: activation_simd.h's measured
# maxima plus a small margin (checked as relative error, which is looser by
# at most a factor 2 than the same number of ulps).
ULPS = {
    "linear": 0.5,
    "relu": 0.5,
    "relu6": 0.5,
    "relu_general": 0.5,
    "leaky_relu": 0.5,
    "hard_sigmoid": 0.5,
    "thresholded_relu": 0.5,
    "exp": 1.0,
    "elu": 1.0,
    "selu": 2.0,
    "softsign": 1.5,
    "tanh": 1.5,
    "sigmoid": 2.5,
    "softplus": 3.0,
    "swish": 3.0,
    "mish": 4.0,
    "gelu": 3.5,
    "gelu_tfjs": 3.5,
    "gelu_tanh": 3.5,
}
TINY = 1e-30  # below this, results may lose relative accuracy (subnormal range)
ATOL = 1e-37


def one_plus_erf_tfjs(z):
    p, a1, a2, a3, a4, a5 = (
        0.3275911,
        0.254829592,
        -0.284496736,
        1.421413741,
        -1.453152027,
        1.061405429,
    )
    az = np.abs(z)
    t = 1.0 / (1.0 + p * az)
    q = ((((a5 * t + a4) * t + a3) * t + a2) * t + a1) * t * np.exp(-az * az)
    return np.where(z < 0, q, 2.0 - q)


def softplus64(x):
    return np.where(x > -THR, x, np.where(x < THR, np.exp(x), np.log1p(np.exp(x))))


def act_ref(kind, x32, alpha=0.0, beta=0.0, gamma=0.0):
    x = x32.astype(np.float64)
    a, b, g = (float(np.float32(v)) for v in (alpha, beta, gamma))
    with np.errstate(all="ignore"):
        if kind == "linear":
            return x
        if kind == "relu":
            return np.where(x > 0, x, 0.0)
        if kind == "relu6":
            return np.where(x > 0, np.where(x < 6, x, 6.0), 0.0)
        if kind == "relu_general":
            return np.where(x >= b, np.where(x < a, x, a), g * (x - b))
        if kind == "leaky_relu":
            return np.where(x >= 0, x, a * x)
        if kind == "elu":
            return np.where(x >= 0, x, a * np.expm1(x))
        if kind == "selu":
            return np.where(x >= 0, 1.0507009873554805 * x, 1.7580993408473769 * np.expm1(x))
        if kind == "sigmoid":
            return 1.0 / (1.0 + np.exp(-x))
        if kind == "hard_sigmoid":
            v = a * x + b
            return np.where(v < 0, 0.0, np.where(v > 1, 1.0, v))
        if kind == "softplus":
            return softplus64(x)
        if kind == "softsign":
            return x / (1.0 + np.abs(x))
        if kind == "tanh":
            return np.tanh(x)
        if kind == "swish":
            return x / (1.0 + np.exp(-x))
        if kind == "mish":
            return x * np.tanh(softplus64(x))
        # 1 + erf(z) = erfc(-z) and 1 + tanh(u) = 2 sigmoid(2u): no cancellation for x << 0.
        if kind == "gelu":
            return 0.5 * x * _erfc(-x / math.sqrt(2.0))
        if kind == "gelu_tfjs":
            return 0.5 * x * one_plus_erf_tfjs(x / math.sqrt(2.0))
        if kind == "gelu_tanh":
            c = math.sqrt(2.0 / math.pi)
            return x / (1.0 + np.exp(-2.0 * c * (x + 0.044715 * x * x * x)))
        if kind == "thresholded_relu":
            return np.where(x > a, x, 0.0)
        if kind == "exp":
            return np.exp(x)
    raise ValueError(kind)


def bits(x):
    return np.ascontiguousarray(x).view(np.uint32)


def sweep():
    """Every 4096th float32 in (-120, 120), both signs, plus a fine grid near 0."""
    pos = np.arange(0, 0x42F00000, 4096, dtype=np.uint32).view(np.float32)
    return np.concatenate([pos, -pos, np.linspace(-8, 8, 20001, dtype=np.float32)])


SPECIAL = np.array(
    [
        np.nan,
        np.inf,
        -np.inf,
        0.0,
        -0.0,
        1e-45,
        -1e-45,
        1e-40,
        -1e-40,
        1.1754944e-38,
        -1.1754944e-38,
        1e-8,
        -1e-8,
        0.5,
        -0.5,
        6.0,
        -6.0,
        13.942385,
        -13.942385,
        13.9424,
        -13.9424,
        20.0,
        -20.0,
        87.3,
        -87.3,
        88.0,
        -88.0,
        88.72283,
        -88.72283,
        88.7229,
        -88.7229,
        89.0,
        -89.0,
        103.9,
        -103.9,
        104.0,
        -104.0,
        200.0,
        -200.0,
        1e10,
        -1e10,
        3.4e38,
        -3.4e38,
    ],
    dtype=np.float32,
)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("kind", list(PARAMS))
def test_activation_accuracy(isa, kind):
    al, be, ga = PARAMS[kind]
    x = sweep()
    got = T.activation(isa, kind, x, al, be, ga).astype(np.float64)
    ref = act_ref(kind, x, al, be, ga)
    with np.errstate(over="ignore"):
        ref32 = ref.astype(np.float32)
    # Overflowing results must be inf with the right sign.
    ovf = np.isinf(ref32) & np.isfinite(ref)
    np.testing.assert_array_equal(got[ovf], ref32[ovf])
    assert np.array_equal(np.isnan(got), np.isnan(ref))
    ok = np.isfinite(ref32)
    if isa == "generic":
        rtol = ULP  # float64 rounded once (the gelus lose a little far left: atol)
        atol = 1e-15 if kind.startswith("gelu") else ATOL
    else:
        rtol, atol = ULPS[kind] * ULP, ATOL
    big = ok & (np.abs(ref) >= TINY)
    err = np.abs(got[big] - ref[big])
    lim = rtol * np.abs(ref[big]) + atol
    i = np.argmax(err - lim)
    assert err[i] <= lim[i], f"x={x[big][i]!r} got {got[big][i]!r} want {ref[big][i]!r}"
    small = ok & (np.abs(ref) < TINY)
    assert np.all(np.abs(got[small] - ref[small]) <= 1e-30)


@pytest.mark.parametrize("isa", SIMD)
@pytest.mark.parametrize("kind", EXACT)
def test_simple_kinds_bitwise_generic(isa, kind):
    al, be, ga = PARAMS[kind]
    x = np.concatenate([sweep(), SPECIAL])
    got = T.activation(isa, kind, x, al, be, ga)
    want = T.activation("generic", kind, x, al, be, ga)
    assert np.array_equal(bits(got), bits(want))


@pytest.mark.parametrize("isa", SIMD)
@pytest.mark.parametrize("kind", list(PARAMS))
def test_special_values_match_generic(isa, kind):
    al, be, ga = PARAMS[kind]
    got = T.activation(isa, kind, SPECIAL, al, be, ga)
    want = T.activation("generic", kind, SPECIAL, al, be, ga)
    assert np.array_equal(np.isnan(got), np.isnan(want)), (SPECIAL, got, want)
    inf = np.isinf(want)
    np.testing.assert_array_equal(got[inf], want[inf])
    fin = np.isfinite(want)
    np.testing.assert_allclose(got[fin], want[fin], rtol=1e-6, atol=1e-30)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("kind", ["relu", "sigmoid", "gelu", "softplus", "exp"])
def test_lengths_and_offsets(isa, kind):
    """Tails (masked lanes) and unaligned starts give the same bits per element."""
    rng = np.random.default_rng(1)
    x = (rng.standard_normal(100) * 4).astype(np.float32)
    whole = T.activation(isa, kind, x)
    for n in range(0, 70):
        for off in (0, 1, 3):
            part = T.activation(isa, kind, x[:n], offset=off)
            assert np.array_equal(bits(part), bits(whole[:n])), (n, off)


def softmax_ref(x, log):
    x = x.astype(np.float64)
    mx = x.max(axis=1, keepdims=True)
    s = np.exp(x - mx).sum(axis=1, keepdims=True)
    return x - mx - np.log(s) if log else np.exp(x - mx) / s


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("log", [False, True])
def test_softmax_accuracy(isa, log):
    rng = np.random.default_rng(2)
    for rows in (1, 3, 17):
        for cols in (1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100, 1000, 1031):
            x = (rng.standard_normal((rows, cols)) * 5).astype(np.float32)
            got = T.softmax(isa, x, log)
            ref = softmax_ref(x, log)
            if log:
                np.testing.assert_allclose(got, ref, rtol=3 * ULP, atol=1e-9)
            else:
                np.testing.assert_allclose(got, ref, rtol=4 * ULP, atol=1e-12)
                np.testing.assert_allclose(got.astype(np.float64).sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("log", [False, True])
def test_softmax_row_independent(isa, log):
    """A row's bits do not depend on the other rows or on its position."""
    rng = np.random.default_rng(3)
    for cols in (1, 5, 16, 33, 257):
        x = (rng.standard_normal((9, cols)) * 3).astype(np.float32)
        full = T.softmax(isa, x, log)
        for i in range(9):
            assert np.array_equal(bits(T.softmax(isa, x[i : i + 1], log)[0]), bits(full[i]))


@pytest.mark.parametrize("isa", SIMD)
@pytest.mark.parametrize("log", [False, True])
def test_softmax_special_values(isa, log):
    ninf, inf, nan = -np.inf, np.inf, np.nan
    rows = [
        [ninf, 0.0, 1.0, ninf, 2.0],  # masked entries
        [ninf] * 5,  # fully masked: NaN, as the generic kernel (exp(-inf - -inf))
        [1e30, 1e30, -1e30, 0.0, 5.0],
        [3.0] * 5,
        [inf, 0.0, 1.0, 2.0, 3.0],
        [nan, 0.0, 1.0, 2.0, 3.0],
        [88.0, 89.0, 100.0, -100.0, 0.0],
    ]
    x = np.array(rows, np.float32)
    got = T.softmax(isa, x, log)
    want = T.softmax("generic", x, log)
    assert np.array_equal(np.isnan(got), np.isnan(want)), (got, want)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-30, equal_nan=True)
