"""The bf16 and int8 GEMM kernels of every ISA that has them, against the
numpy models of lowp_model.py: bit for bit (both follow the same float32
steps; int8 sums are exact integers). Also: splitting rows and columns
changes no bit and touches nothing outside the column range; the packed
int8 scales and column sums are the model's."""

from __future__ import annotations

import numpy as np
import pytest
from lowp_model import MODELS, quantize_weights

from tfjs_infer import _core

# The AVX512-BF16 kernels, bit for bit: AMX off where the CPU has it (conftest.py).
pytestmark = pytest.mark.usefixtures("bf16_without_amx")

T = _core._testing
CASES = [
    # (m, k, n): tile remainders (1..13 rows), 1..4 panels and partial ones,
    # odd k (bf16 pair pad), k not a multiple of 4 (int8 quad pad), long k.
    (1, 1, 1),
    (1, 7, 10),
    (3, 33, 17),
    (6, 64, 64),
    (7, 31, 65),
    (13, 100, 48),
    (12, 5, 33),
    (25, 147, 24),
    (2, 1000, 96),
    (250, 20, 40),  # more rows than one conversion chunk
    (50, 1030, 70),  # row tiles over k blocks (x86: 2 int8 / 4 bf16 blocks)
]


def lowp_isas(precision: str) -> list[str]:
    return list(T.lowp_isas(precision))


PARAMS = [(p, isa) for p in ("bf16", "int8") for isa in lowp_isas(p)]


def data(m: int, k: int, n: int, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m, k)).astype(np.float32)
    a[:, ::3] = np.maximum(a[:, ::3], 0)  # some rows' lows above their highs' mirror
    b = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    res = rng.standard_normal((m, n)).astype(np.float32)
    return a, b, bias, res


def test_every_precision_has_a_reference_kernel() -> None:
    assert "generic" in lowp_isas("bf16") and "generic" in lowp_isas("int8")


@pytest.mark.parametrize(("precision", "isa"), PARAMS)
@pytest.mark.parametrize(("m", "k", "n"), CASES)
def test_kernel_matches_numpy_model(precision: str, isa: str, m: int, k: int, n: int) -> None:
    a, b, bias, res = data(m, k, n, seed=m * 1000 + k + n)
    model = MODELS[precision]
    got = T.gemm_lowp(isa, precision, a, b)
    np.testing.assert_array_equal(got, model(a, b), err_msg=f"{precision} {isa} linear")
    got = T.gemm_lowp(isa, precision, a, b, bias=bias, residual=res, act="relu")
    np.testing.assert_array_equal(got, model(a, b, bias, res, "relu"), err_msg="epilogue")


@pytest.mark.parametrize(("precision", "isa"), PARAMS)
def test_splits_change_no_bit_and_stay_in_range(precision: str, isa: str) -> None:
    a, b, bias, res = data(37, 70, 90, seed=5)
    whole = T.gemm_lowp(isa, precision, a, b, bias=bias, residual=res)
    split = T.gemm_lowp(isa, precision, a, b, bias=bias, residual=res, m_split=5, n_split=3)
    np.testing.assert_array_equal(split, whole)
    for i in range(a.shape[0]):  # one row alone: the batch-1 call
        row = T.gemm_lowp(isa, precision, a[i : i + 1], b, bias=bias, residual=res[i : i + 1])
        np.testing.assert_array_equal(row[0], whole[i])
    part = T.gemm_lowp(isa, precision, a, b, bias=bias, residual=res, n_begin=16, n_end=75)
    np.testing.assert_array_equal(part[:, 16:75], whole[:, 16:75])
    assert (part[:, :16] == 7777.0).all() and (part[:, 75:] == 7777.0).all()


@pytest.mark.parametrize(("precision", "isa"), PARAMS)
def test_simd_equals_reference(precision: str, isa: str) -> None:
    a, b, bias, res = data(40, 123, 57, seed=9)
    got = T.gemm_lowp(isa, precision, a, b, bias=bias, residual=res, act="relu")
    ref = T.gemm_lowp("generic", precision, a, b, bias=bias, residual=res, act="relu")
    np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("isa", lowp_isas("int8"))
def test_int8_non_finite_row_gives_nan_row(isa: str) -> None:
    a, b, _, _ = data(4, 20, 18, seed=3)
    a[1, 7] = np.nan
    a[2, 3] = np.inf
    got = T.gemm_lowp(isa, "int8", a, b)
    assert np.isnan(got[1]).all() and np.isnan(got[2]).all()
    clean = T.gemm_lowp(isa, "int8", a[[0, 3]], b)
    np.testing.assert_array_equal(got[[0, 3]], clean)


def test_int8_packed_scales_and_sums() -> None:
    _, b, _, _ = data(1, 45, 21, seed=4)
    b[:, 3] = 0.0  # an all-zero column keeps scale 1
    packed = np.asarray(T.lowp_pack("int8", b))
    panels, quads = 2, 12
    tail = packed[panels * quads * 16 * 4 :]
    scales = tail[: panels * 16 * 4].view(np.float32)[:21]
    sums = tail[panels * 16 * 4 :].view(np.int32)[:21]
    q, scale = quantize_weights(b)
    np.testing.assert_array_equal(scales, scale)
    np.testing.assert_array_equal(sums, q.sum(axis=0))
    body = packed[: panels * quads * 64].view(np.int8).reshape(panels, quads, 16, 4)
    unpacked = body.transpose(1, 3, 0, 2).reshape(quads * 4, panels * 16)
    np.testing.assert_array_equal(unpacked[:45, :21], q)
    assert (unpacked[45:] == 0).all() and (unpacked[:, 21:] == 0).all()


def test_bad_precision_is_refused() -> None:
    with pytest.raises(ValueError, match="precision"):
        T.lowp_pack("fp16", np.ones((2, 2), np.float32))


def cpu_flags() -> set[str]:
    """The CPU's feature flags from /proc/cpuinfo (empty off Linux)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def test_avx_vnni_cpu_gets_the_avx2_int8_kernel() -> None:
    """AVX-VNNI (VEX vpdpbusd on ymm) backs isa 'avx2' wherever the CPU has it,
    so the tests above run it (and cannot skip it silently)."""
    flags = cpu_flags()
    if "avx_vnni" in flags and "avx2" in flags:
        assert "avx2" in lowp_isas("int8")


ACTS = ["linear", "relu", "relu6", "sigmoid", "tanh", "elu", "gelu", "swish", "softplus"]


@pytest.mark.parametrize("act", ACTS)
def test_int8_simd_kernels_give_the_same_bits(act: str) -> None:
    """AVX512-VNNI and AVX-VNNI: the same integer sums and the same epilogue
    steps in the same order, so the same bits for every activation."""
    simd = [isa for isa in lowp_isas("int8") if isa != "generic"]
    a, b, bias, res = data(45, 301, 77, seed=11)
    a[3, 17] = np.nan
    outs = [
        T.gemm_lowp(isa, "int8", a, b, bias=bias, residual=res, act=act, n_begin=5, n_end=70)
        for isa in simd
    ]
    for isa, out in zip(simd[1:], outs[1:]):
        np.testing.assert_array_equal(out, outs[0], err_msg=f"{isa} vs {simd[0]}")


@pytest.mark.parametrize("isa", lowp_isas("int8"))
def test_int8_edge_rows_match_numpy_model(isa: str) -> None:
    """Rows whose quantization parameters take the rule's special branches:
    all zeros and all -0.0 (a flat range: scale 1, zero point 0), all one
    positive or one negative value (one side of the range is 0), tiny and
    large magnitudes, a zero point that rounds to 255, ranges so small that
    1 / scale overflows (flat) and denormal inputs; 20 rows so the SIMD
    kernels' 16-row parameter blocks end mid-block."""
    a, b, bias, res = data(20, 37, 33, seed=21)
    a[0] = 0.0
    a[1] = -0.0
    a[2] = 3.5
    a[3] = -2.25
    a[4] *= 1e-30
    a[5] *= 1e30
    a[6] = -1.0
    a[6, 5] = 1e-3  # lo = -1, hi tiny: zero point near 255
    a[7, :] = np.abs(a[7])  # lo = 0
    a[8] *= np.float32(1e-38)  # 1 / scale overflows: a flat row
    a[9] *= np.float32(1e-44)  # denormal inputs
    got = T.gemm_lowp(isa, "int8", a, b, bias=bias, residual=res)
    np.testing.assert_array_equal(got, MODELS["int8"](a, b, bias, res))
