"""The int8 GEMM's k blocks (GemmBlocking::int8_k_block_words: none on AMD
family 0x19, 128 words elsewhere; TFJS_INFER_INT8_K_BLOCK) and its prefetch of
the next row tile's epilogue lines (res_prefetch) change no bit: every setting
against the numpy model of lowp_model.py on every ISA with an int8 kernel,
with and without a residual, C written over the residual as the models plan
it, and the rows and columns split."""

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
# 0: one block; 16: many (every tile stores and reloads its sums); 128: the
# default off Zen 4 (2 blocks of k = 1030, one of k = 600).
K_BLOCKS = [0, 16, 128]
CASES = [(50, 1030, 70), (37, 600, 33), (13, 64, 256)]


@contextlib.contextmanager
def int8_blocking(k_block_words: int, res_prefetch: int) -> Iterator[None]:
    gemm = tfjs_infer.build_info()["cpu"]["gemm"]
    saved = T.set_gemm_blocking(
        **dict(gemm, int8_k_block_words=k_block_words, res_prefetch=res_prefetch)
    )
    try:
        yield
    finally:
        T.set_gemm_blocking(**saved)


def data(m: int, k: int, n: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(m * 7 + k + n)
    a = np.maximum(rng.standard_normal((m, k)), -0.3).astype(np.float32)
    b = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    res = rng.standard_normal((m, n)).astype(np.float32)
    return a, b, bias, res


def test_zen4_default_has_no_k_blocks() -> None:
    cpu = tfjs_infer.build_info()["cpu"]
    zen4 = cpu["vendor"] == "AuthenticAMD" and cpu["family"] == 0x19
    assert cpu["gemm_derived"]["int8_k_block_words"] == (0 if zen4 else 128)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("k_block", K_BLOCKS)
@pytest.mark.parametrize("res_prefetch", [0, 1, 2])
@pytest.mark.parametrize(("m", "k", "n"), CASES)
def test_int8_k_blocks_and_prefetch_keep_the_bits(
    isa: str, k_block: int, res_prefetch: int, m: int, k: int, n: int
) -> None:
    a, b, bias, res = data(m, k, n)
    model = MODELS["int8"]
    packed = np.asarray(T.lowp_pack("int8", b))
    with int8_blocking(k_block, res_prefetch):
        plain = T.gemm_lowp(isa, "int8", a, b, act="relu", prepacked=packed)
        fused = T.gemm_lowp(isa, "int8", a, b, bias=bias, residual=res, prepacked=packed)
        over = res.copy()  # C over the residual
        T.gemm_lowp(isa, "int8", a, b, bias=bias, residual=over, act="relu", out=over)
        split = T.gemm_lowp(
            isa, "int8", a, b, bias=bias, residual=res, prepacked=packed, m_split=3, n_split=2
        )
    np.testing.assert_array_equal(plain, model(a, b, None, None, "relu"))
    np.testing.assert_array_equal(fused, model(a, b, bias, res))
    np.testing.assert_array_equal(over, model(a, b, bias, res, "relu"))
    np.testing.assert_array_equal(split, fused)
