"""The bf16 GEMM on AMX tiles (cpp/kernels/x86/gemm_bf16_amxbf16.cpp,
GemmBlocking::bf16_amx), where this CPU and the OS give AMX-BF16.

How tdpbf16ps sums a row's 32 products into a float32 lane is not specified
(Intel's pseudocode leaves the order and the intermediate precision to the
implementation), and no simple model matched it bit for bit on this host
(sequential, pair-fused, trees, groups, one rounding; nearest or toward zero).
So the kernel is checked against lowp_model.gemm_bf16 (vdpbf16ps' order)
within a bound derived from float32 summation error, and exactly where every
partial sum is exact whatever the order:

- Both sum the same exact products (bfloat16 x bfloat16 fits float32) of k
  terms with float32 intermediates: any order gives |sum' - sum| <= (k - 1)
  u' S, S = sum |a_i b_i| (the bfloat16 values), u' = 2^-24 for round to
  nearest and 2^-23 should the tile unit truncate. So the two differ by at
  most k (2^-23 + 2^-24) S <= k 2^-22 S, plus the flush of products below
  2^-126 (k 2^-126). The epilogue's two adds (bias, residual) round each
  side's different sums apart by at most 2 u (|acc| + |bias| + |res|) each:
  2^-21 (S + |bias| + |res|) more; relu and relu6 do not widen a difference.
- Small integers (|a|, |b| <= 4, k <= 1100: every partial sum an integer
  below 2^24) are exact in any order: the tiles must give the model's bits,
  which catches any layout, tail or offset error.

Determinism: every row goes through the tiles with the same k decomposition
(tiles of 32 k), so a row's bits do not depend on the batch, the row split,
the column split or the thread. AMX on and off are switched in this process
(_testing.set_gemm_blocking), models checked against the fixtures' TF.js /
Keras outputs within test_precision_models' bound.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import numpy as np
import pytest
from lowp_model import bf16, gemm_bf16

import tfjs_infer
from fixture_utils import FIXTURES, arrays, model_path, read_io, read_spec
from tfjs_infer import _core

T = _core._testing
HAS_AMX = bool(tfjs_infer.build_info()["amx_bf16"])
needs_amx = pytest.mark.skipif(
    not HAS_AMX, reason="no AMX-BF16 here: " + str(tfjs_infer.build_info()["amx_status"])
)
U = 2.0**-24

# (m, k, n): k within one tile, at and around tile and pair borders, long;
# n of one narrow panel to several with a partial one; m from one row to
# past one 32-row block with a short last 16-row tile.
SHAPES = [
    (1, 1, 1),
    (3, 2, 15),
    (5, 31, 16),
    (16, 32, 17),
    (17, 33, 40),
    (32, 64, 1),
    (33, 100, 40),
    (40, 1000, 17),
    (7, 1030, 33),
    (2, 1100, 16),
    (31, 63, 15),
    (40, 5, 96),
]


@contextlib.contextmanager
def amx(on: bool) -> Iterator[None]:
    saved = T.set_gemm_blocking(**{**tfjs_infer.build_info()["cpu"]["gemm"], "bf16_amx": int(on)})
    try:
        yield
    finally:
        T.set_gemm_blocking(**saved)


def run(a: np.ndarray, b: np.ndarray, on: bool = True, **kw: object) -> np.ndarray:
    with amx(on):
        return T.gemm_lowp("avx512", "bf16", a, b, **kw)


def bound(
    a: np.ndarray, b: np.ndarray, bias: np.ndarray | None = None, res: np.ndarray | None = None
) -> np.ndarray:
    """The module docstring's bound on |tiles - lowp_model|, per output."""
    k = a.shape[1]
    s = np.abs(bf16(a)).astype(np.float64) @ np.abs(bf16(b)).astype(np.float64)
    extra = s.copy()
    if bias is not None:
        extra += np.abs(bias.astype(np.float64))
    if res is not None:
        extra += np.abs(res.astype(np.float64))
    return k * 2.0**-22 * s + 2.0**-21 * extra + k * 2.0**-126


def data(m: int, k: int, n: int, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    res = rng.standard_normal((m, n)).astype(np.float32)
    return a, b, bias, res


@needs_amx
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_small_integers_exact(shape: tuple[int, int, int]) -> None:
    m, k, n = shape
    rng = np.random.default_rng(m * 7 + k * 3 + n)
    a = rng.integers(-4, 5, (m, k)).astype(np.float32)
    b = rng.integers(-4, 5, (k, n)).astype(np.float32)
    bias = rng.integers(-50, 50, n).astype(np.float32)
    res = rng.integers(-50, 50, (m, n)).astype(np.float32)
    np.testing.assert_array_equal(run(a, b), gemm_bf16(a, b))
    got = run(a, b, bias=bias, residual=res, act="relu")
    np.testing.assert_array_equal(got, gemm_bf16(a, b, bias, res, "relu"))


@needs_amx
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_within_bound_of_numpy_model(shape: tuple[int, int, int]) -> None:
    m, k, n = shape
    a, b, bias, res = data(m, k, n, m * 1000 + k + n)
    for kw, ref, lim in [
        ({}, gemm_bf16(a, b), bound(a, b)),
        (
            {"bias": bias, "residual": res, "act": "relu"},
            gemm_bf16(a, b, bias, res, "relu"),
            bound(a, b, bias, res),
        ),
        ({"bias": bias}, gemm_bf16(a, b, bias), bound(a, b, bias)),
    ]:
        got = run(a, b, **kw)
        err = np.abs(got.astype(np.float64) - ref)
        assert (err <= lim).all(), (shape, kw.keys(), float((err / lim).max()))
        # The AVX512-BF16 kernel (AMX off) is the model bit for bit.
        np.testing.assert_array_equal(run(a, b, on=False, **kw), ref)


@needs_amx
def test_tiles_really_sum_in_their_own_order() -> None:
    """Somewhere the tiles' bits differ from vdpbf16ps' (so the products ran
    on AMX): 1000 products of mixed signs leave rounding differences."""
    a, b, _, _ = data(40, 1000, 40, 5)
    assert not np.array_equal(run(a, b), run(a, b, on=False))


@needs_amx
def test_relu6_and_general_activation_follow_the_linear_sums() -> None:
    """relu6 and tanh (the general epilogue) applied to the linear result with
    the bias, in float32 as the kernel does (tanh through the same vector code:
    compared with numpy's tanh within 2 ulp-scale)."""
    a, b, bias, _ = data(37, 200, 40, 9)
    lin = run(a, b, bias=bias)
    np.testing.assert_array_equal(
        run(a, b, bias=bias, act="relu6"), np.minimum(np.maximum(lin, 0), 6)
    )
    got = run(a, b, bias=bias, act="tanh")
    np.testing.assert_allclose(got, np.tanh(lin), rtol=1e-5, atol=1e-6)


@needs_amx
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_rows(value: float) -> None:
    """A row holding NaN or inf: its outputs are NaN or inf where the model's
    are (inf times a zero weight is NaN); the other rows keep their bits."""
    a, b, _, _ = data(35, 70, 33, 3)
    b[5, 3] = 0.0
    clean = run(a, b)
    a[17, 5] = value
    got, ref = run(a, b), gemm_bf16(a, b)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    np.testing.assert_array_equal(np.isinf(got), np.isinf(ref))
    np.testing.assert_array_equal(got[np.isinf(ref)], ref[np.isinf(ref)])
    assert not np.isfinite(got[17]).any()
    rows = [i for i in range(35) if i != 17]
    np.testing.assert_array_equal(got[rows].view(np.uint32), clean[rows].view(np.uint32))


@needs_amx
def test_rows_and_columns_bitwise_at_any_split() -> None:
    """A row's bits do not depend on the rows beside it (batch size), on how
    the rows or columns are cut (threads split them so), or on the thread."""
    a, b, bias, res = data(77, 300, 70, 11)
    kw = {"bias": bias, "residual": res, "act": "relu"}
    whole = run(a, b, **kw)
    for m_split, n_split in [(2, 1), (3, 2), (7, 3), (77, 1)]:
        got = run(a, b, m_split=m_split, n_split=n_split, **kw)
        np.testing.assert_array_equal(got.view(np.uint32), whole.view(np.uint32))
    for i0, i1 in [(0, 1), (5, 6), (40, 77), (31, 65)]:
        got = run(a[i0:i1], b, bias=bias, residual=res[i0:i1], act="relu")
        np.testing.assert_array_equal(got.view(np.uint32), whole[i0:i1].view(np.uint32))
    part = run(a, b, bias=bias, n_begin=16, n_end=50)
    full = run(a, b, bias=bias)
    np.testing.assert_array_equal(part[:, 16:50].view(np.uint32), full[:, 16:50].view(np.uint32))
    assert (part[:, :16] == 7777.0).all() and (part[:, 50:] == 7777.0).all()
    # Three threads at once, each with its own tile configuration.
    outs: dict[int, np.ndarray] = {}
    with amx(True):

        def work(t: int) -> None:
            for _ in range(5):
                outs[t] = T.gemm_lowp("avx512", "bf16", a, b, **kw)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(3)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    for t in range(3):
        np.testing.assert_array_equal(outs[t].view(np.uint32), whole.view(np.uint32))


BOUND = 0.016  # test_precision_models' bf16 bound on the fixtures
CASES = ["tfjs/dense_mlp", "keras_conv/resnet_block", "keras_conv/mobilenetv2_block"]


def load(case: str, **kw: object) -> tfjs_infer.Model:
    return tfjs_infer.Model(read_spec(model_path(FIXTURES / case)), precision="bf16", **kw)


@needs_amx
@pytest.mark.parametrize("case", CASES)
def test_models_within_bound_and_bitwise_at_any_batch_and_threads(case: str) -> None:
    io = read_io(FIXTURES / case)
    x = arrays(io["inputs"])[0]
    ref = arrays(io["outputs"])[0]
    with amx(False):
        off = load(case, isa="avx512").predict(x)
    with amx(True):
        model = load(case, isa="avx512", num_threads=2)
        got = model.predict(x)
        err = float(np.abs(got - ref).max()) / max(1.0, float(np.abs(ref).max()))
        assert err <= BOUND, f"{case}: relative error {err:.4f}"
        if case != "tfjs/dense_mlp":  # its few small sums round alike (softmax)
            assert not np.array_equal(got, off)  # the tiles ran
        xs = np.concatenate([x] * (40 // len(x) + 1))[:40]
        whole = model.predict(xs)
        np.testing.assert_array_equal(model.predict(xs, batch_size=1), whole)
        np.testing.assert_array_equal(model.predict(xs, batch_size=7), whole)
        model.num_threads = 3
        np.testing.assert_array_equal(model.predict(xs, batch_size=13), whole)
        model.num_threads = 1
        np.testing.assert_array_equal(model.predict(xs, batch_size=40), whole)


@needs_amx
def test_direct_bf16_conv_not_taken_on_tiles() -> None:
    """The bf16 direct convolution gives the AVX512-BF16 GEMM's bits: where
    the GEMM runs on tiles, the convolution goes through im2col + the tiles
    (it needs im2col scratch), and its output is the tiles' product's."""
    from test_conv_direct_bf16 import conv_graph

    spec = (10, 13, 3, 80, 3, 1, "same", "relu6", True)
    shape = [[2, *spec[:3]]]
    with amx(False):
        direct = _core.CompiledModel(
            conv_graph(spec, 1), isa="avx512", num_threads=1, precision="bf16"
        )
        assert direct.workspace_bytes(shape) == 0
    with amx(True):
        tiles = _core.CompiledModel(
            conv_graph(spec, 1), isa="avx512", num_threads=1, precision="bf16"
        )
        assert tiles.workspace_bytes(shape) > 0


def test_derived_from_the_cpu_and_overridable() -> None:
    """bf16_amx is 1 where the running CPU and OS give AMX-BF16 tiles, else
    0 (as int8_amx: cpu_features(), not the recorded cpuid leaves);
    TFJS_INFER_BF16_AMX overrides it."""
    from fixture_utils import cpuid_leaves

    here = int(tfjs_infer.build_info()["amx_bf16"])
    leaves = cpuid_leaves("intel_xeon_emerald_rapids_kvm.txt")
    assert T.derive_cpu_params(leaves)["gemm"]["bf16_amx"] == here
    for value in (0, 1):
        p = T.derive_cpu_params(leaves, {"TFJS_INFER_BF16_AMX": str(value)})
        assert p["gemm"]["bf16_amx"] == value and p["gemm_derived"]["bf16_amx"] == here
    assert tfjs_infer.build_info()["cpu"]["gemm_derived"]["bf16_amx"] == here


@needs_amx
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("block", range(6))
def test_conv_chain_bf16_store_read_in_place_keeps_the_bits(
    monkeypatch: pytest.MonkeyPatch, threads: int, block: int
) -> None:
    """MobileNet blocks on tiles: the depthwise's bfloat16 store read by the
    projection (in place where e is a multiple of 32: e = 96 and 192; copied
    otherwise) gives the bits of the float store the projection rounds itself
    and of the unfused ops."""
    from test_conv_chain_bf16 import BLOCKS, bits, block_graph, feeds
    from test_conv_chain_bf16 import run as run_chain

    spec = BLOCKS[block]
    rng = np.random.default_rng(spec[3] * 10 + threads)
    g, _ = block_graph(rng, spec)
    x = feeds(rng, spec, 3 if threads == 1 else 1)
    with amx(True):
        got = run_chain(monkeypatch, g, "avx512", threads, x)
        float_store = run_chain(monkeypatch, g, "avx512", threads, x, False)
        unfused = run_chain(monkeypatch, g, "avx512", 1, x, optimize=False)
    with amx(False):
        off = run_chain(monkeypatch, g, "avx512", threads, x)
    np.testing.assert_array_equal(bits(got), bits(float_store))
    np.testing.assert_array_equal(bits(got), bits(unfused))
    scale = float(np.abs(off).max())
    assert float(np.abs(got - off).max()) <= 1e-3 * scale  # the same model, tiles' rounding
