"""A conv2d before a MobileNet chain without an expand (MobileNetV2's first
conv and block 0) becomes the chain's stem stage (compile/passes.cpp
fuse_chain_stems): the chain computes the conv's output rows band by band in
its per-thread scratch with the conv2d op's own kernels (ops/conv_base.h
ConvRows: the direct kernel or im2col and the GEMM), so the outputs keep the
unfused graph's bits (TFJS_INFER_CHAIN_STEM=0, read when the model is
compiled) in fp32 and bf16, on every ISA, at 1 and 2 threads (banded,
chunked and whole-image modes), at every batch size; fp32 also against a
float64 numpy reference. The pass fuses only a conv whose output goes nowhere
else, and not in int8."""

from __future__ import annotations

import numpy as np
import pytest

import tfjs_infer
from tfjs_infer import _core

# The AVX512-BF16 kernels, bit for bit: AMX off where the CPU has it (conftest.py).
pytestmark = pytest.mark.usefixtures("bf16_without_amx")

ENV = "TFJS_INFER_CHAIN_STEM"
FP32_ISAS = tfjs_infer.available_isas()
BF16_ISAS = _core._testing.lowp_isas("bf16")
INT8_ISAS = _core._testing.lowp_isas("int8")

# (h, w, cin, k, stride, padding, act, e, dw_stride, cout, residual):
# MobileNetV2's stem and block 0 on a small odd image; stride 1 'valid' with
# one channel; four channels and a 5x5 kernel; a linear stem with a stride-2
# depthwise; a 64x65 stem output of 64 channels (several bands per image,
# and on 2 threads chunks of rows: too large for the whole-image mode); a
# 14x14 one (the whole-image mode on 2 threads); explicit pads (a folded
# ZeroPadding2D, older Keras MobileNetV2s), wider at the bottom and right.
CASES = [
    (33, 31, 3, 3, 2, "same", "relu6", 32, 1, 16, False),
    (17, 13, 1, 3, 1, "valid", "relu", 24, 1, 8, True),
    (15, 20, 4, 5, 2, "same", "relu6", 38, 2, 12, False),
    (11, 9, 3, 3, 1, "same", "linear", 16, 2, 16, False),
    (127, 129, 3, 3, 2, "same", "relu6", 64, 1, 24, True),
    (27, 28, 3, 3, 2, "same", "relu6", 32, 1, 16, True),
    (21, 18, 3, 3, 2, [0, 2, 1, 2], "relu6", 16, 1, 8, False),
]


def rand(rng: np.random.Generator, shape: tuple[int, ...], scale: float = 1.0) -> np.ndarray:
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def out_size(n: int, k: int, s: int, padding: str | list[int], axis: int = 0) -> int:
    if isinstance(padding, list):  # explicit [top, bottom, left, right]
        return (n + padding[2 * axis] + padding[2 * axis + 1] - k) // s + 1
    return -(-n // s) if padding == "same" else (n - k) // s + 1


def dw_input_dims(case: tuple) -> tuple[int, int]:
    h, w, _, k, s, padding = case[:6]
    return out_size(h, k, s, padding), out_size(w, k, s, padding, 1)


def out_dims(case: tuple) -> tuple[int, int]:
    hh, ww = dw_input_dims(case)
    ds = case[8]
    return -(-hh // ds), -(-ww // ds)


def weights(case: tuple, seed: int) -> dict[str, np.ndarray]:
    _, _, cin, k, _, _, _, e, _, cout, _ = case
    rng = np.random.default_rng(seed)
    return {
        "sk": rand(rng, (k, k, cin, e), 0.4),
        "sb": rand(rng, (e,), 0.1),
        "dk": rand(rng, (3, 3, e), 0.5),
        "db": rand(rng, (e,), 0.1),
        "pk": rand(rng, (1, 1, e, cout), 0.3),
        "pb": rand(rng, (cout,), 0.1),
    }


def chain_graph(case: tuple, wts: dict[str, np.ndarray], extra_use: str = "") -> _core.Graph:
    """stem conv2d -> depthwise 3x3 'same' (relu6) -> project 1x1 (+ r).
    extra_use: "output" (the stem's output is also a model output), "op" (an
    activation reads it too), "dilated" (the stem is dilated)."""
    h, w, cin, _, s, padding, act, _, ds, cout, residual = case
    g = _core.Graph()
    x = g.add_input("x", [None, h, w, cin], "float32")
    sattrs = {"strides": [s, s], "padding": padding, "activation": act}
    if isinstance(padding, list):
        sattrs.update(padding="explicit", pads=padding)
    if extra_use == "dilated":
        sattrs.update(strides=[1, 1], dilations=[2, 2])
    (v,) = g.add_op("conv2d", "stem", [x], sattrs, {"kernel": wts["sk"], "bias": wts["sb"]})
    dattrs = {"strides": [ds, ds], "padding": "same", "activation": "relu6"}
    (d,) = g.add_op("depthwise_conv2d", "dw", [v], dattrs, {"kernel": wts["dk"], "bias": wts["db"]})
    (y,) = g.add_op("conv2d", "project", [d], {}, {"kernel": wts["pk"], "bias": wts["pb"]})
    if residual:
        oh, ow = out_dims(case)
        r = g.add_input("r", [None, oh, ow, cout], "float32")
        (y,) = g.add_op("add", "add", [y, r], {}, {})
    outs = [y]
    if extra_use == "output":
        outs.append(v)
    elif extra_use == "op":
        (t,) = g.add_op("activation", "tanh", [v], {"activation": "tanh"}, {})
        outs.append(t)
    g.set_outputs(outs)
    return g


def feeds(case: tuple, batch: int, seed: int, special: bool = False) -> list[np.ndarray]:
    h, w, cin = case[:3]
    rng = np.random.default_rng(seed)
    x = rand(rng, (batch, h, w, cin))
    if special:  # NaN and infinities on the edges and inside
        x[0, 0, 0, 0] = np.nan
        x[0, h // 2, w // 2, cin - 1] = np.inf
        x[batch - 1, h - 1, w - 1, 0] = -np.inf
        x[batch - 1, 3, 1, 0] = np.nan
    out = [x]
    if case[10]:
        oh, ow = out_dims(case)
        out.append(rand(rng, (batch, oh, ow, case[9])))
    return out


def compile_model(
    monkeypatch: pytest.MonkeyPatch,
    g: _core.Graph,
    isa: str,
    threads: int,
    precision: str,
    stem: bool,
) -> _core.CompiledModel:
    monkeypatch.setenv(ENV, "1" if stem else "0")
    return _core.CompiledModel(g, isa=isa, num_threads=threads, precision=precision)


def run_both(
    monkeypatch: pytest.MonkeyPatch,
    case: tuple,
    isa: str,
    threads: int,
    precision: str,
    x: list[np.ndarray],
    seed: int = 3,
) -> tuple[np.ndarray, np.ndarray]:
    g = chain_graph(case, weights(case, seed))
    fused = compile_model(monkeypatch, g, isa, threads, precision, True)
    assert [o[1] for o in fused.ops()] == ["conv_chain"]
    g = chain_graph(case, weights(case, seed))
    apart = compile_model(monkeypatch, g, isa, threads, precision, False)
    assert [o[1] for o in apart.ops()] == ["conv2d", "conv_chain"]
    return fused.run(x)[0], apart.run(x)[0]


def bits(x: np.ndarray) -> np.ndarray:
    return x.view(np.uint32)


def lowp_cases() -> list[tuple[str, str]]:
    return [("fp32", isa) for isa in FP32_ISAS] + [("bf16", isa) for isa in BF16_ISAS]


@pytest.mark.parametrize(("precision", "isa"), lowp_cases())
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("case", CASES)
def test_stem_keeps_the_unfused_bits(
    monkeypatch: pytest.MonkeyPatch, precision: str, isa: str, threads: int, case: tuple
) -> None:
    x = feeds(case, 2 if threads == 2 else 3, seed=case[7])
    got, want = run_both(monkeypatch, case, isa, threads, precision, x)
    np.testing.assert_array_equal(bits(got), bits(want))
    assert np.isfinite(got).all() and np.abs(got).max() > 0.05


@pytest.mark.parametrize("isa", [i for i in FP32_ISAS if i in ("avx2", "avx512")])
@pytest.mark.parametrize("case", [CASES[0], CASES[4]])
def test_stem_im2col_path_keeps_the_unfused_bits(
    monkeypatch: pytest.MonkeyPatch, isa: str, case: tuple
) -> None:
    """fp32 with the direct kernel off (TFJS_INFER_CONV_DIRECT=0): the stem
    runs im2col tiles and the GEMM, as the conv2d op does."""
    monkeypatch.setenv("TFJS_INFER_CONV_DIRECT", "0")
    x = feeds(case, 2, seed=5)
    got, want = run_both(monkeypatch, case, isa, 1, "fp32", x)
    np.testing.assert_array_equal(bits(got), bits(want))


@pytest.mark.parametrize(("precision", "isa"), lowp_cases())
@pytest.mark.parametrize("threads", [1, 2])
def test_stem_nonfinite_inputs(
    monkeypatch: pytest.MonkeyPatch, precision: str, isa: str, threads: int
) -> None:
    case = CASES[0]
    x = feeds(case, 2, seed=9, special=True)
    got, want = run_both(monkeypatch, case, isa, threads, precision, x)
    np.testing.assert_array_equal(bits(got), bits(want))
    assert np.isnan(got).any()


@pytest.mark.parametrize(("precision", "isa"), lowp_cases())
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("case", [CASES[2], CASES[4], CASES[5]])
def test_stem_same_bits_at_every_batch_size(
    monkeypatch: pytest.MonkeyPatch, precision: str, isa: str, threads: int, case: tuple
) -> None:
    g = chain_graph(case, weights(case, 4))
    model = compile_model(monkeypatch, g, isa, threads, precision, True)
    assert [o[1] for o in model.ops()] == ["conv_chain"]
    x = feeds(case, 5, seed=11)
    whole = model.run(x)[0]
    pair = model.run([f[1:3] for f in x])[0]
    np.testing.assert_array_equal(bits(pair), bits(whole[1:3]))
    for i in range(5):
        one = model.run([f[i : i + 1] for f in x])[0]
        np.testing.assert_array_equal(bits(one[0]), bits(whole[i]))


def act64(v: np.ndarray, act: str) -> np.ndarray:
    if act == "relu":
        return np.maximum(v, 0)
    if act == "relu6":
        return np.clip(v, 0, 6)
    return v


def conv64(
    x: np.ndarray, k: np.ndarray, s: int, padding: str | list[int], depthwise: bool
) -> np.ndarray:
    """Channels-last 2D convolution in float64 (TF's 'same': the extra
    padding row and column at the bottom and right)."""
    n, h, w, _ = x.shape
    kh, kw = k.shape[:2]
    oh, ow = out_size(h, kh, s, padding), out_size(w, kw, s, padding, 1)
    pt = pl = 0
    if isinstance(padding, list):
        pt, pl = padding[0], padding[2]
    elif padding == "same":
        pt = max((oh - 1) * s + kh - h, 0) // 2
        pl = max((ow - 1) * s + kw - w, 0) // 2
    xp = np.zeros((n, (oh - 1) * s + kh, (ow - 1) * s + kw, x.shape[3]))
    rows, cols = min(h, xp.shape[1] - pt), min(w, xp.shape[2] - pl)
    xp[:, pt : pt + rows, pl : pl + cols] = x[:, :rows, :cols]
    y = 0.0
    for ky in range(kh):
        for kx in range(kw):
            win = xp[:, ky : ky + (oh - 1) * s + 1 : s, kx : kx + (ow - 1) * s + 1 : s]
            y = y + (win * k[ky, kx] if depthwise else win @ k[ky, kx].astype(np.float64))
    return y


def reference(case: tuple, wts: dict[str, np.ndarray], x: list[np.ndarray]) -> np.ndarray:
    _, _, _, _, s, padding, act, _, ds, _, residual = case
    v = act64(conv64(x[0].astype(np.float64), wts["sk"], s, padding, False) + wts["sb"], act)
    d = act64(conv64(v, wts["dk"].astype(np.float64), ds, "same", True) + wts["db"], "relu6")
    y = d @ wts["pk"][0, 0].astype(np.float64) + wts["pb"]
    return y + x[1] if residual else y


@pytest.mark.parametrize("isa", FP32_ISAS)
@pytest.mark.parametrize("case", CASES)
def test_stem_against_float64_numpy(monkeypatch: pytest.MonkeyPatch, isa: str, case: tuple) -> None:
    wts = weights(case, 6)
    model = compile_model(monkeypatch, chain_graph(case, wts), isa, 1, "fp32", True)
    assert [o[1] for o in model.ops()] == ["conv_chain"]
    x = feeds(case, 2, seed=12)
    np.testing.assert_allclose(model.run(x)[0], reference(case, wts, x), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("extra_use", ["output", "op", "dilated"])
def test_stem_not_fused_when_its_output_goes_elsewhere(
    monkeypatch: pytest.MonkeyPatch, extra_use: str
) -> None:
    """A stem output that is also a model output or another op's input stays
    a conv2d (and so does a dilated conv); the outputs are the unfused ones."""
    case = CASES[0]
    g = chain_graph(case, weights(case, 2), extra_use)
    model = compile_model(monkeypatch, g, FP32_ISAS[-1], 1, "fp32", True)
    types = [o[1] for o in model.ops()]
    assert "conv2d" in types and "conv_chain" in types
    if extra_use == "dilated":
        return
    x = feeds(case, 2, seed=1)
    plain = _core.CompiledModel(
        chain_graph(case, weights(case, 2), extra_use),
        isa=FP32_ISAS[-1],
        num_threads=1,
        optimize=False,
    )
    for got, want in zip(model.run(x), plain.run(x)):
        np.testing.assert_array_equal(bits(got), bits(want))


@pytest.mark.parametrize("isa", INT8_ISAS[-1:])
def test_stem_not_fused_in_int8(monkeypatch: pytest.MonkeyPatch, isa: str) -> None:
    case = CASES[0]
    model = compile_model(monkeypatch, chain_graph(case, weights(case, 2)), isa, 1, "int8", True)
    assert [o[1] for o in model.ops()] == ["conv2d", "conv_chain"]


@pytest.mark.parametrize("isa", BF16_ISAS)
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("case", CASES)
def test_bf16_direct_stem_keeps_the_im2col_bits(
    monkeypatch: pytest.MonkeyPatch, isa: str, threads: int, case: tuple
) -> None:
    """bf16 with the direct kernel (TFJS_INFER_CONV_DIRECT_BF16=1, at any
    weight size; x86/conv_direct_bf16_avx512bf16.cpp where the table has it)
    in the chain's stem stage against the unfused conv2d on im2col tiles and
    the bf16 GEMM (=0): the same bits in every band and chunk, NaN and
    infinities included (on tables without the kernel both run im2col)."""
    for special in (False, True):
        x = feeds(case, 2 if threads == 2 else 3, seed=case[7] + 1, special=special)
        monkeypatch.setenv("TFJS_INFER_CONV_DIRECT_BF16", "1")
        fused = compile_model(
            monkeypatch, chain_graph(case, weights(case, 8)), isa, threads, "bf16", True
        )
        assert [o[1] for o in fused.ops()] == ["conv_chain"]
        monkeypatch.setenv("TFJS_INFER_CONV_DIRECT_BF16", "0")
        apart = compile_model(
            monkeypatch, chain_graph(case, weights(case, 8)), isa, threads, "bf16", False
        )
        got, want = fused.run(x)[0], apart.run(x)[0]
        np.testing.assert_array_equal(bits(got), bits(want))
        assert np.isnan(got).any() if special else np.isfinite(got).all()


@pytest.mark.parametrize("isa", BF16_ISAS)
def test_bf16_direct_stem_is_taken(monkeypatch: pytest.MonkeyPatch, isa: str) -> None:
    """The direct stem needs no im2col scratch, so the chain's workspace
    shrinks where the table has the kernel (the AVX-512 table on CPUs with
    AVX512-BF16) and stays the same elsewhere: the test above compares the
    two paths, not im2col with itself."""
    case = CASES[0]
    sizes = {}
    for value in ("1", "0"):
        monkeypatch.setenv("TFJS_INFER_CONV_DIRECT_BF16", value)
        m = compile_model(monkeypatch, chain_graph(case, weights(case, 8)), isa, 1, "bf16", True)
        sizes[value] = m.workspace_bytes([[2, *case[:3]]])
    has_kernel = isa == "avx512" and "avx512" in BF16_ISAS
    assert (sizes["1"] < sizes["0"]) == has_kernel
