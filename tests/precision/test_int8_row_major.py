"""The AVX-512 int8 GEMM's row-major sweep (kernels/x86/lowp_x86.h
lowp_chunk_row_major: row tiles outer, panel groups inner, for calls with a
residual and at least 512 columns where k is not blocked, as on AMD family
0x19) changes no bit: against the numpy model of lowp_model.py and against the
panel-group order (k blocks of 128 words, which keep it) on every ISA with an
int8 kernel, with widths that end in a partial panel group, row counts that
end in a partial tile, C over the residual, the rows and columns split (calls
below and above 512 columns), every epilogue kind and a NaN/inf row."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import pytest
from lowp_model import MODELS

import tfjs_infer
from tfjs_infer import _core

T = _core._testing
ISAS = list(T.lowp_isas("int8"))
# (m, k, n): n at the threshold, a partial last panel group (530: 8 groups of
# 4 panels + 2 panels and 2 columns), 6-row tiles with 1 and 5 rows left over,
# k not a multiple of 4, a longer k (one block: k_block 0).
CASES = [(7, 64, 512), (61, 37, 530), (50, 130, 600), (13, 300, 1030), (241, 20, 520)]
ACTS = ["linear", "relu", "relu6", "sigmoid"]


@contextlib.contextmanager
def k_blocks(words: int) -> Iterator[None]:
    gemm = tfjs_infer.build_info()["cpu"]["gemm"]
    saved = T.set_gemm_blocking(**dict(gemm, int8_k_block_words=words))
    try:
        yield
    finally:
        T.set_gemm_blocking(**saved)


def data(m: int, k: int, n: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(m * 5 + k + n)
    a = np.maximum(rng.standard_normal((m, k)), -0.2).astype(np.float32)
    b = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    res = rng.standard_normal((m, n)).astype(np.float32)
    return a, b, bias, res


def run(
    isa: str, a: np.ndarray, b: np.ndarray, bias: np.ndarray, res: np.ndarray, act: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    packed = np.asarray(T.lowp_pack("int8", b))
    fused = T.gemm_lowp(isa, "int8", a, b, bias=bias, residual=res, act=act, prepacked=packed)
    over = res.copy()  # C written over the residual, as the models plan it
    T.gemm_lowp(isa, "int8", a, b, bias=bias, residual=over, act=act, out=over)
    split = T.gemm_lowp(
        isa,
        "int8",
        a,
        b,
        bias=bias,
        residual=res,
        act=act,
        prepacked=packed,
        m_split=3,
        n_split=2,
    )
    return fused, over, split


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize(("m", "k", "n"), CASES)
@pytest.mark.parametrize("act", ACTS)
def test_row_major_sweep_keeps_the_bits(isa: str, m: int, k: int, n: int, act: str) -> None:
    a, b, bias, res = data(m, k, n)
    with k_blocks(0):  # no k blocks: the row-major sweep
        rows = run(isa, a, b, bias, res, act)
    with k_blocks(128):  # k blocks: panel groups outer
        groups = run(isa, a, b, bias, res, act)
    # The numpy model has linear and ReLU; the others against the panel-group
    # order only (the generic kernel's scalar activations differ from SIMD's).
    for got, ref in zip(rows, groups):
        np.testing.assert_array_equal(got, ref)
    if act not in ("linear", "relu"):
        return
    want = MODELS["int8"](a, b, bias, res, act)
    for got in rows:
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("isa", ISAS)
def test_row_major_sweep_non_finite_rows(isa: str) -> None:
    """A NaN and infinite input rows give NaN output rows in both orders; the
    other rows keep the model's values (rows are independent)."""
    a, b, bias, res = data(20, 40, 544)
    bad = [3, 11, 12]
    a[3, 7] = np.nan
    a[11, 0] = np.inf
    a[12, 39] = -np.inf
    with k_blocks(0):
        rows = run(isa, a, b, bias, res, "relu")
    with k_blocks(128):
        groups = run(isa, a, b, bias, res, "relu")
    good = [i for i in range(len(a)) if i not in bad]
    want = MODELS["int8"](a[good], b, bias, res[good], "relu")
    for got, ref in zip(rows, groups):
        np.testing.assert_array_equal(got, ref)
        assert np.isnan(got[bad]).all()
        np.testing.assert_array_equal(got[good], want)
