"""The int8 GEMM on AMX tiles (cpp/kernels/x86/gemm_int8_amxint8.cpp,
GemmBlocking::int8_amx): bit for bit the numpy model of lowp_model.py and the
AVX512-VNNI kernel (the blocking field switched off and on in one process), on
m, n and k tails (k below one 64-byte step, k % 64 staged, k over 1000; n
across partial panels and odd panel counts; m across the 16-row tiles and
32-row blocks), with bias, residual, C over the residual, the activations,
rows holding NaN or inf, row and column splits; convolutions whose input is
quantized per sample (q_rows) and 1x1 ones, and a small int8 network, at 1-3
threads and several batch sizes. Skipped where the CPU or the OS does not
grant AMX-INT8."""

from __future__ import annotations

import contextlib
import math
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from lowp_model import conv2d_int8, gemm_int8

import tfjs_infer
from fixture_utils import FIXTURES, arrays, model_path, read_io, read_spec
from tfjs_infer import _core

T = _core._testing
INFO = tfjs_infer.build_info()
HAS_AMX = bool(INFO["amx_int8"]) and "avx512" in list(T.lowp_isas("int8"))
pytestmark = pytest.mark.skipif(not HAS_AMX, reason=f"no AMX-INT8: {INFO['amx_status']}")

# k < 29 and m < 7 run on AVX512-VNNI inside the AMX kernel's entry (measured
# faster there); k = 29-60 takes one tile step narrower than 64 bytes.
KS = [1, 3, 4, 29, 40, 63, 64, 65, 128, 1030]
NS = [1, 15, 16, 17, 40]
MS = [1, 2, 15, 16, 17, 31, 32, 33, 40]


@contextlib.contextmanager
def int8_amx(on: bool, l2_block: int | None = None) -> Iterator[None]:
    """The int8 GEMM on AMX tiles or not; l2_block: GemmBlocking's
    l2_block_bytes, below which the AMX kernel runs its row blocks outermost
    (0: panel pairs outermost always)."""
    gemm = dict(tfjs_infer.build_info()["cpu"]["gemm"])
    if l2_block is not None:
        gemm["l2_block_bytes"] = l2_block
    saved = T.set_gemm_blocking(**dict(gemm, int8_amx=1 if on else 0))
    try:
        yield
    finally:
        T.set_gemm_blocking(**saved)


def both(fn: Callable[..., np.ndarray], *args: Any, **kwargs: Any) -> tuple[np.ndarray, np.ndarray]:
    """fn's result on AMX tiles and on AVX512-VNNI."""
    with int8_amx(True):
        amx = fn(*args, **kwargs)
    with int8_amx(False):
        vnni = fn(*args, **kwargs)
    return amx, vnni


def gemm(a: np.ndarray, b: np.ndarray, **kwargs: Any) -> np.ndarray:
    return np.asarray(T.gemm_lowp("avx512", "int8", a, b, **kwargs))


def data(m: int, k: int, n: int, seed: int = 0) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(m * 1000003 + k * 101 + n + seed)
    a = rng.standard_normal((m, k)).astype(np.float32)
    a[::2] = np.maximum(a[::2], -0.2)  # zero points away from the middle
    a *= rng.uniform(0.1, 10.0, size=(m, 1)).astype(np.float32)  # per-row ranges
    b = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    res = rng.standard_normal((m, n)).astype(np.float32)
    return a, b, bias, res


def test_default_on_this_cpu_and_the_switch() -> None:
    """Derived on where AMX-INT8 is granted; the dispatch follows the field
    (the bit tests below compare two kernels only if it does)."""
    cpu = tfjs_infer.build_info()["cpu"]
    assert cpu["gemm_derived"]["int8_amx"] == 1
    if "TFJS_INFER_INT8_AMX" not in " ".join(cpu["overrides"]):
        assert cpu["gemm"]["int8_amx"] == 1
        assert T.int8_amx()
    with int8_amx(False):
        assert not T.int8_amx()
    with int8_amx(True):
        assert T.int8_amx()


@pytest.mark.parametrize(
    ("env", "want"),
    [({}, True), ({"TFJS_INFER_INT8_AMX": "0"}, False), ({"TFJS_INFER_AMX": "0"}, False)],
)
def test_switches_in_fresh_processes(env: dict[str, str], want: bool) -> None:
    """TFJS_INFER_INT8_AMX=0 (the blocking override) and TFJS_INFER_AMX=0 (no
    tiles at all) put the int8 GEMM back on AVX512-VNNI, read at import."""
    code = "from tfjs_infer import _core; print(int(_core._testing.int8_amx()))"
    clean = {k: v for k, v in os.environ.items() if "AMX" not in k}
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert out.stdout.strip() == str(int(want))


@pytest.mark.parametrize("pairs_outer", [False, True])
@pytest.mark.parametrize("k", KS)
@pytest.mark.parametrize("n", NS)
def test_amx_tails_match_model_and_vnni(k: int, n: int, pairs_outer: bool) -> None:
    """Every tail, with the AMX kernel's row blocks outermost (these panels
    fit the L2 block) and its panel pairs outermost (an L2 block of 0)."""
    with int8_amx(True, 0 if pairs_outer else None):
        check_tails(k, n)


def check_tails(k: int, n: int) -> None:
    for m in MS:
        a, b, bias, res = data(m, k, n)
        packed = np.asarray(T.lowp_pack("int8", b))
        amx, vnni = both(gemm, a, b, prepacked=packed)
        np.testing.assert_array_equal(amx, gemm_int8(a, b), err_msg=f"m={m}")
        np.testing.assert_array_equal(amx, vnni, err_msg=f"m={m}")
        amx, vnni = both(gemm, a, b, bias=bias, residual=res, act="relu", prepacked=packed)
        np.testing.assert_array_equal(amx, gemm_int8(a, b, bias, res, "relu"), err_msg=f"m={m}")
        np.testing.assert_array_equal(amx, vnni, err_msg=f"m={m}")


@pytest.mark.parametrize(("m", "k", "n"), [(49, 4608, 64), (200, 576, 64), (300, 147, 33)])
def test_amx_long_k_and_chunks(m: int, k: int, n: int) -> None:
    """ResNet50's longest k (several chunks of rows at k = 576 and 147)."""
    a, b, bias, res = data(m, k, n)
    amx, vnni = both(gemm, a, b, bias=bias, residual=res)
    np.testing.assert_array_equal(amx, gemm_int8(a, b, bias, res))
    np.testing.assert_array_equal(amx, vnni)


@pytest.mark.parametrize("act", ["relu6", "sigmoid", "elu", "leaky_relu", "tanh"])
def test_amx_activations_match_vnni(act: str) -> None:
    """The epilogues the numpy model does not write (relu6 and the general
    path through the vectorized activation): the VNNI kernel's bits."""
    for m, k, n in [(37, 600, 33), (5, 20, 40), (64, 128, 17)]:
        a, b, bias, res = data(m, k, n, seed=1)
        amx, vnni = both(gemm, a, b, bias=bias, residual=res, act=act, alpha=0.3)
        np.testing.assert_array_equal(amx, vnni, err_msg=f"{act} {m}x{k}x{n}")


def test_amx_nan_and_inf_rows() -> None:
    m, k, n = 35, 70, 40
    a, b, bias, res = data(m, k, n, seed=2)
    a[3, 5] = np.nan
    a[20, 69] = np.inf
    a[33, 0] = -np.inf
    amx, vnni = both(gemm, a, b, bias=bias, residual=res, act="relu")
    np.testing.assert_array_equal(amx, vnni)
    bad = [3, 20, 33]
    assert np.isnan(amx[bad]).all()
    good = [i for i in range(m) if i not in bad]
    np.testing.assert_array_equal(amx[good], gemm_int8(a[good], b, bias, res[good], "relu"))


def test_amx_over_residual_and_splits() -> None:
    """C written over the residual, and rows / columns split into calls
    (columns on 16-column borders: odd panel counts per call), and a column
    range not starting at 0."""
    m, k, n = 50, 1030, 70
    a, b, bias, res = data(m, k, n, seed=3)
    want = gemm_int8(a, b, bias, res, "relu")

    def over() -> np.ndarray:
        c = res.copy()
        T.gemm_lowp("avx512", "int8", a, b, bias=bias, residual=c, act="relu", out=c)
        return c

    amx, vnni = both(over)
    np.testing.assert_array_equal(amx, want)
    np.testing.assert_array_equal(vnni, want)
    for ms, ns in [(3, 2), (7, 3), (50, 5)]:
        amx, vnni = both(gemm, a, b, bias=bias, residual=res, act="relu", m_split=ms, n_split=ns)
        np.testing.assert_array_equal(amx, want, err_msg=f"{ms}x{ns}")
        np.testing.assert_array_equal(vnni, want, err_msg=f"{ms}x{ns}")
    amx, vnni = both(gemm, a, b, bias=bias, act="relu", n_begin=16, n_end=51, fill=5.0)
    full = gemm_int8(a, b, bias, None, "relu")
    np.testing.assert_array_equal(amx[:, 16:51], full[:, 16:51])
    assert (amx[:, :16] == 5.0).all() and (amx[:, 51:] == 5.0).all()
    np.testing.assert_array_equal(amx, vnni)


def conv_graph(x_shape: tuple[int, ...], w: np.ndarray, b: np.ndarray, stride: int) -> _core.Graph:
    g = _core.Graph()
    inputs = [g.add_input("x", [None, *x_shape[1:]], "float32")]
    attrs = {"strides": [stride, stride], "padding": "same", "activation": "relu"}
    (y,) = g.add_op("conv2d", "conv", inputs, attrs, {"kernel": w, "bias": b})
    g.set_outputs([y])
    return g


@pytest.mark.parametrize(
    ("hw", "k", "stride", "cin", "cout"),
    [
        ((14, 14), 3, 1, 64, 40),  # q_rows in whole words
        ((9, 9), 3, 2, 17, 33),  # q_rows gathered (odd channels), odd panels
        ((16, 16), 7, 2, 3, 64),  # the stem: k = 147, a staged k tail
        ((10, 10), 1, 1, 40, 17),  # 1x1: per-row quantization
        ((7, 7), 3, 1, 512, 48),  # k = 4608
    ],
)
def test_amx_convs_threads_and_batches(
    hw: tuple[int, int], k: int, stride: int, cin: int, cout: int
) -> None:
    """Per-sample quantized convolutions (q_rows) and a 1x1 one, batch 3 and
    each sample alone, at 1, 2 and 3 threads: the model's bits on AMX, and the
    VNNI kernel's."""
    rng = np.random.default_rng(cin * 31 + k)
    x = np.maximum(rng.standard_normal((3, *hw, cin)), -0.3).astype(np.float32)
    x[1] *= 5.0
    w = (rng.standard_normal((k, k, cin, cout)) / math.sqrt(k * k * cin)).astype(np.float32)
    b = rng.standard_normal(cout).astype(np.float32)
    want = conv2d_int8(x, w, b, stride, "same", None, "relu")
    g = conv_graph(x.shape, w, b, stride)
    for on in (True, False):
        with int8_amx(on):
            for threads in (1, 2, 3):
                model = _core.CompiledModel(
                    g, isa="avx512", num_threads=threads, optimize=False, precision="int8"
                )
                got = model.run([x])[0]
                np.testing.assert_array_equal(got, want, err_msg=f"amx={on} {threads} threads")
                for i in range(3):
                    one = model.run([x[i : i + 1]])[0]
                    np.testing.assert_array_equal(one, want[i : i + 1])


def test_amx_model_level_int8_net() -> None:
    """A small Keras-style int8 network (conv, pooling, dense) through
    load_model: AMX and VNNI give the same bits at batch 1, 5 and 32 and at
    1 and 2 threads, and a row does not depend on its batch."""
    g = _core.Graph()
    rng = np.random.default_rng(11)
    x_in = g.add_input("x", [None, 12, 12, 5], "float32")
    w1 = (rng.standard_normal((3, 3, 5, 24)) / math.sqrt(45)).astype(np.float32)
    w2 = (rng.standard_normal((1, 1, 24, 40)) / math.sqrt(24)).astype(np.float32)
    (h1,) = g.add_op(
        "conv2d",
        "c1",
        [x_in],
        {"strides": [1, 1], "padding": "same", "activation": "relu"},
        {"kernel": w1, "bias": rng.standard_normal(24).astype(np.float32)},
    )
    (h2,) = g.add_op(
        "conv2d",
        "c2",
        [h1],
        {"strides": [2, 2], "padding": "valid", "activation": "relu"},
        {"kernel": w2, "bias": rng.standard_normal(40).astype(np.float32)},
    )
    g.set_outputs([h2])
    x = rng.standard_normal((32, 12, 12, 5)).astype(np.float32)
    results = {}
    for on in (True, False):
        with int8_amx(on):
            for threads in (1, 2):
                model = _core.CompiledModel(
                    g, isa="avx512", num_threads=threads, optimize=True, precision="int8"
                )
                full = model.run([x])[0]
                for bs in (1, 5):
                    part = np.concatenate([model.run([x[i : i + bs]])[0] for i in range(0, 10, bs)])
                    np.testing.assert_array_equal(part, full[:10])
                results[(on, threads)] = full
    ref = results[(False, 1)]
    for key, got in results.items():
        np.testing.assert_array_equal(got, ref, err_msg=str(key))


@pytest.mark.parametrize(
    "case", ["keras_conv/resnet_block", "keras_conv/mobilenetv2_block", "tfjs/dense_mlp"]
)
def test_amx_fixture_models(case: str) -> None:
    """Real Keras / TF.js fixtures at precision='int8': on AMX within the
    int8 bound of test_precision_models.py of the stored reference, and the
    VNNI kernel's bits, at 1 and 2 threads and batch sizes 1, 7 and whole."""
    io = read_io(FIXTURES / case)
    x = arrays(io["inputs"])[0]
    ref = arrays(io["outputs"])[0]
    spec = read_spec(model_path(FIXTURES / case))
    xs = np.concatenate([x] * (40 // len(x) + 1))[:40]
    outs = {}
    for on in (True, False):
        with int8_amx(on):
            model = tfjs_infer.Model(spec, precision="int8", isa="avx512", num_threads=2)
            got = model.predict(x)
            err = float(np.abs(got - ref).max()) / max(1.0, float(np.abs(ref).max()))
            assert err <= 0.025, f"amx={on}: relative error {err:.4f}"
            whole = model.predict(xs)
            np.testing.assert_array_equal(model.predict(xs, batch_size=1), whole)
            model.num_threads = 1
            np.testing.assert_array_equal(model.predict(xs, batch_size=7), whole)
            outs[on] = whole
    np.testing.assert_array_equal(outs[True], outs[False])
