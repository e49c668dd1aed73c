"""Raw GEMM kernels of every built ISA against float64 numpy.

C = act(A . B + bias + residual) with B packed by the same table. The float32
error bound is the classic one for a length-k dot product with one rounding per
step, plus the two epilogue additions: |C - C64| <= (k + 2) u (|A||B| + |bias| +
|residual|), u = 2^-24. Epilogue activations must give exactly the bits of
the same ISA's activation kernel applied to the linear result.
"""

from __future__ import annotations

import numpy as np
import pytest

import tfjs_infer
from tfjs_infer import _core

T = _core._testing
ISAS = T.available_isas()
SIMD = [isa for isa in ISAS if isa != "generic"]
SIZES = [1, 7, 8, 9, 15, 16, 17, 31, 33, 47, 48, 49, 64, 100, 1031]
U = 2.0**-24

ACTS = {
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


def rand(rng, *shape):
    return rng.standard_normal(shape, dtype=np.float32)


def check(c, a, b, bias=None, res=None):
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    ref = a64 @ b64
    mag = np.abs(a64) @ np.abs(b64)
    if bias is not None:
        ref = ref + bias
        mag = mag + np.abs(bias)
    if res is not None:
        ref = ref + res
        mag = mag + np.abs(res)
    bound = (a.shape[1] + 2) * U * mag * 1.0001 + 1e-37
    err = np.abs(c.astype(np.float64) - ref)
    bad = err > bound
    assert not bad.any(), f"{bad.sum()} elements off; worst {np.max(err - bound):.3g} over bound"


def bits(x):
    return np.ascontiguousarray(x).view(np.uint32)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("m", SIZES)
def test_gemm_m_n(isa, m):
    rng = np.random.default_rng(m)
    k = 9
    for n in SIZES:
        a, b, bias = rand(rng, m, k), rand(rng, k, n), rand(rng, n)
        check(T.gemm(isa, a, b, guard=True), a, b)
        res = rand(rng, m, n)
        check(T.gemm(isa, a, b, bias=bias, residual=res, guard=True), a, b, bias, res)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("k", SIZES)
def test_gemm_k(isa, k):
    rng = np.random.default_rng(k)
    for m, n in [(1, 33), (2, 17), (3, 64), (4, 100), (5, 31), (13, 49), (37, 7)]:
        a, b, bias = rand(rng, m, k), rand(rng, k, n), rand(rng, n)
        check(T.gemm(isa, a, b, bias=bias, guard=True), a, b, bias)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize(
    "m,k,n",
    [
        (200, 4099, 70),  # k-blocked (k > 2048), one row chunk
        (400, 5000, 40),  # k-blocked, several row chunks
        (1031, 100, 1031),
        (64, 1031, 1031),
        (100, 1031, 64),
        (1, 1031, 1031),
        (3, 4099, 48),
        (300, 4, 1031),
    ],
)
def test_gemm_large(isa, m, k, n):
    rng = np.random.default_rng(m + k + n)
    a, b, bias, res = rand(rng, m, k), rand(rng, k, n), rand(rng, n), rand(rng, m, n)
    check(T.gemm(isa, a, b, bias=bias, residual=res), a, b, bias, res)


@pytest.mark.parametrize("isa", ISAS)
def test_gemm_strided_rows(isa):
    """lda > k, ldc > n, ldr > n: the padding of C rows is never written."""
    rng = np.random.default_rng(3)
    for m, k, n in [(1, 5, 3), (3, 17, 33), (13, 40, 49), (37, 3, 100)]:
        a_full = rand(rng, m, k + 5)
        res_full = rand(rng, m, n + 3)
        out_full = np.full((m, n + 7), np.float32(12345.0))
        a, res, out = a_full[:, :k], res_full[:, :n], out_full[:, 2 : 2 + n]
        b, bias = rand(rng, k, n), rand(rng, n)
        T.gemm(isa, a, b, bias=bias, residual=res, out=out, act="relu")
        ref = np.maximum(a.astype(np.float64) @ b + bias + res, 0)
        np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)
        assert (out_full[:, :2] == 12345.0).all() and (out_full[:, 2 + n :] == 12345.0).all()


@pytest.mark.parametrize("isa", ISAS)
def test_gemm_column_range(isa):
    """Only columns [n_begin, n_end) are written; n_begin is a panel border.

    m = 1 and 2 over 5-6 panels: ranges starting on an odd panel miss the
    small-m tiles that span whole panel groups (AVX-512), and must give the
    same bits as the whole-row call, which takes them.
    """
    nr = T.gemm_nr(isa)
    rng = np.random.default_rng(4)
    shapes = [(1, 8, 3 * nr + 5), (5, 9, 4 * nr), (20, 3, 2 * nr + 1)]
    shapes += [(1, 8, 5 * nr + 3), (2, 9, 6 * nr)]
    for m, k, n in shapes:
        a, b, bias = rand(rng, m, k), rand(rng, k, n), rand(rng, n)
        full = T.gemm(isa, a, b, bias=bias, act="tanh")
        panels = -(-n // nr)
        for p0 in range(panels):
            for p1 in range(p0 + 1, panels + 1):
                n0, n1 = p0 * nr, min(n, p1 * nr)
                if p1 == panels and n % nr:
                    n1 = n - (n % nr) // 2 if p1 - p0 > 1 else n  # a range ending mid-panel
                out = np.full((m, n), np.float32(np.nan))
                T.gemm(isa, a, b, bias=bias, act="tanh", out=out, n_begin=n0, n_end=n1, guard=True)
                assert np.array_equal(bits(out[:, n0:n1]), bits(full[:, n0:n1]))
                assert np.isnan(out[:, :n0]).all() and np.isnan(out[:, n1:]).all()


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("act", list(ACTS))
def test_gemm_epilogue_matches_activation_kernel(isa, act):
    al, be, ga = ACTS[act]
    rng = np.random.default_rng(5)
    for m, k, n in [(1, 16, 70), (3, 7, 33), (4, 1, 5), (13, 31, 49), (40, 8, 17)]:
        a, b, bias, res = rand(rng, m, k), rand(rng, k, n), rand(rng, n), rand(rng, m, n)
        lin = T.gemm(isa, a, b, bias=bias, residual=res)
        want = T.activation(isa, act, lin, al, be, ga)
        got = T.gemm(
            isa, a, b, bias=bias, residual=res, act=act, alpha=al, beta=be, gamma=ga, guard=True
        )
        assert np.array_equal(bits(got), bits(want)), act


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("k", [1, 17, 64, 1031, 4099])
def test_gemm_determinism(isa, k):
    """A row's bits do not depend on m, on the row/column split or on threads."""
    rng = np.random.default_rng(k)
    nr = T.gemm_nr(isa)
    m = 37
    for n in [1, 33, 100, 5 * nr + 3]:
        a, b, bias, res = rand(rng, m, k), rand(rng, k, n), rand(rng, n), rand(rng, m, n)
        pb = T.pack_b(isa, b)
        full = T.gemm(isa, a, pb, bias=bias, residual=res, act="gelu")
        for i in range(m):
            one = T.gemm(isa, a[i : i + 1], pb, bias=bias, residual=res[i : i + 1], act="gelu")
            assert np.array_equal(bits(one[0]), bits(full[i])), (n, i)
        for size in [2, 3, 4, 5, 6, 12, 13, 25]:
            for s in (0, m - size, 7):
                part = T.gemm(
                    isa, a[s : s + size], pb, bias=bias, residual=res[s : s + size], act="gelu"
                )
                assert np.array_equal(bits(part), bits(full[s : s + size])), (n, size, s)
        for n_split, m_split, threads in [(2, 1, 1), (3, 1, 2), (7, 1, 1), (1, 2, 2), (2, 5, 2)]:
            out = T.gemm(
                isa,
                a,
                pb,
                bias=bias,
                residual=res,
                act="gelu",
                n_split=n_split,
                m_split=m_split,
                threads=threads,
            )
            assert np.array_equal(bits(out), bits(full)), (n, n_split, m_split)


@pytest.mark.parametrize("isa", SIMD)
def test_gemm_special_values_match_generic(isa):
    rng = np.random.default_rng(6)
    for m, k, n in [(1, 9, 40), (4, 33, 17), (15, 20, 33)]:
        a, b = rand(rng, m, k), rand(rng, k, n)
        a[0, 0] = np.inf
        if m > 1:
            a[1, k - 1] = np.nan
        if m > 2:
            a[2, :] = 0.0
            b[:, 0] = np.inf
        b[k // 2, n - 1] = -np.inf
        bias = rand(rng, n)
        bias[n // 2] = np.nan
        want = T.gemm("generic", a, b, bias=bias, act="relu")
        got = T.gemm(isa, a, b, bias=bias, act="relu")
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5, equal_nan=True)
        assert np.array_equal(np.isnan(got), np.isnan(want))


def test_isas_agree():
    rng = np.random.default_rng(7)
    a, b, bias = rand(rng, 33, 100), rand(rng, 100, 65), rand(rng, 65)
    outs = [T.gemm(isa, a, b, bias=bias, act="swish") for isa in ISAS]
    for o in outs[1:]:
        np.testing.assert_allclose(o, outs[0], rtol=1e-5, atol=1e-5)


def test_packed_b_is_reusable_and_checked():
    rng = np.random.default_rng(8)
    a, b = rand(rng, 3, 10), rand(rng, 10, 20)
    for isa in ISAS:
        pb = T.pack_b(isa, b)
        assert (pb.k, pb.n) == (10, 20)
        assert pb.data().size >= 10 * 20
        np.testing.assert_array_equal(T.gemm(isa, a, pb), T.gemm(isa, a, b))
    with pytest.raises(ValueError):
        T.gemm(ISAS[0], rand(rng, 3, 11), b)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("k", [33, 4099])
def test_gemm_residual_may_alias_output(isa, k):
    """C = act(A B + bias + C): the residual read and the C write of an element
    happen in the same tile, so an in-place residual (the planner reusing the
    residual's buffer for the output) is fine, k-blocked or not."""
    rng = np.random.default_rng(k)
    m, n = 45, 70
    a, b, bias = rand(rng, m, k), rand(rng, k, n), rand(rng, n)
    res = rand(rng, m, n)
    want = T.gemm(isa, a, b, bias=bias, residual=res, act="swish")
    inplace = res.copy()
    T.gemm(isa, a, b, bias=bias, residual=inplace, act="swish", out=inplace)
    assert np.array_equal(bits(inplace), bits(want))


@pytest.mark.parametrize("isa", SIMD)
@pytest.mark.parametrize("k", [1, 16, 96, 4099])
def test_gemm_narrow_tail_same_bits(isa, k):
    """GemmBlocking::narrow_tail (AVX-512: a last panel of 17-24 columns as
    three ymm vectors per row) on and off give the same bits, inside the error
    bound, touching nothing outside C; k = 4099 takes the k-blocked path (its
    partial sums through the narrow tiles)."""
    rng = np.random.default_rng(k + 11)
    saved = tfjs_infer.build_info()["cpu"]["gemm"]
    try:
        for m, n in [(5, 24), (8, 17), (9, 20), (37, 56), (17, 88), (45, 120), (33, 25)]:
            a, b, bias, res = rand(rng, m, k), rand(rng, k, n), rand(rng, n), rand(rng, m, n)
            pb = T.pack_b(isa, b)
            for act in ("linear", "relu6", "gelu"):
                outs = []
                for narrow in (0, 1):
                    T.set_gemm_blocking(**{**saved, "narrow_tail": narrow})
                    outs.append(T.gemm(isa, a, pb, bias=bias, residual=res, act=act, guard=True))
                    if act == "linear":
                        check(outs[-1], a, b, bias, res)
                    split = T.gemm(isa, a, pb, bias=bias, act=act, n_split=2, m_split=2, threads=2)
                    whole = T.gemm(isa, a, pb, bias=bias, act=act)
                    assert np.array_equal(bits(split), bits(whole)), (m, n, act, narrow)
                assert np.array_equal(bits(outs[1]), bits(outs[0])), (m, n, act)
    finally:
        T.set_gemm_blocking(**saved)


@pytest.mark.parametrize("isa", SIMD)
@pytest.mark.parametrize("k", [16, 24, 32, 15, 33])
def test_gemm_fixed_k_same_bits(isa, k):
    """GemmBlocking::fixed_k (tiles compiled for k = 16, 24 or 32 over A rows
    of k contiguous floats: MobileNetV2's thin 1x1 products) on and off give
    the same bits, inside the error bound, touching nothing outside C; on
    6- and 7-row tiles (the fixed-k tiles exist for 6, with panel groups of
    2: Zen 4's), full and one-short row tiles, two-panel, one-panel and
    half-panel tiles, linear and relu6 (relu and gelu keep the loop for any
    k), a strided A (lda != k: the loop for any k), split over columns and
    rows; k = 15 and 33 never take them."""
    rng = np.random.default_rng(k + 23)
    saved = tfjs_infer.build_info()["cpu"]["gemm"]
    saved_rows = T.set_gemm_tile_rows(6)
    try:
        for rows in (6, 7):
            T.set_gemm_tile_rows(rows)
            for m, n in [(5, 16), (6, 96), (11, 24), (12, 40), (13, 144), (49, 16), (100, 192)]:
                a, b, bias, res = rand(rng, m, k), rand(rng, k, n), rand(rng, n), rand(rng, m, n)
                wide = rand(rng, m, k + 3)
                wide[:, :k] = a
                pb = T.pack_b(isa, b)
                for act in ("linear", "relu", "relu6", "gelu"):
                    outs = []
                    for fixed in (0, 1):
                        T.set_gemm_blocking(**{**saved, "fixed_k": fixed})
                        out = T.gemm(isa, a, pb, bias=bias, residual=res, act=act, guard=True)
                        outs.append(out)
                        if act == "linear":
                            check(out, a, b, bias, res)
                        strided = T.gemm(isa, wide[:, :k], pb, bias=bias, residual=res, act=act)
                        assert np.array_equal(bits(strided), bits(out)), (rows, m, n, act, fixed)
                        split = T.gemm(isa, a, pb, bias=bias, act=act, n_split=2, m_split=2)
                        whole = T.gemm(isa, a, pb, bias=bias, act=act)
                        assert np.array_equal(bits(split), bits(whole)), (rows, m, n, act, fixed)
                    assert np.array_equal(bits(outs[1]), bits(outs[0])), (rows, m, n, act)
    finally:
        T.set_gemm_blocking(**saved)
        T.set_gemm_tile_rows(saved_rows)
