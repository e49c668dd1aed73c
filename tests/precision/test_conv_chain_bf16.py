"""The fused MobileNet block (ops/conv_chain.cpp) in bf16 with the depthwise
output stored as bfloat16 for the project product (KernelTable::depthwise_bf16,
GemmArgs::a_bf16): the depthwise still computes in float32 and rounds each
result to nearest even as it stores it, the rounding the project GEMM would
do to a float A, so the bits are those of the float store (TFJS_INFER_DW_BF16=0)
and of the three ops run one by one.

On every ISA with bf16 kernels, at 1 and 2 threads (2: the whole-image mode
on small maps), with and without the expand stage and the residual, stride 1
and 2, channel counts with and without a vector tail, an odd count (the float
path), images whose bands split the rows; against the numpy model of the
project product (tests/precision/lowp_model.py) on the float depthwise output,
and bitwise across batch sizes."""

from __future__ import annotations

import numpy as np
import pytest
from lowp_model import gemm_bf16

from tfjs_infer import _core

# The AVX512-BF16 kernels, bit for bit: AMX off where the CPU has it (conftest.py).
pytestmark = pytest.mark.usefixtures("bf16_without_amx")

ENV = "TFJS_INFER_DW_BF16"
ISAS = _core._testing.lowp_isas("bf16")

# (h, w, cin, e, cout, stride, expand, residual): MobileNetV2-like blocks.
# 40x40 with e = 96: rows of 40 * 96 floats, so a 512 KiB band holds about 16
# of them and a band ends inside the image (more than one band per image).
BLOCKS = [
    (9, 11, 8, 24, 8, 1, True, True),  # e = 16 + 8: a vector tail
    (9, 11, 8, 38, 12, 2, True, False),  # e = 2 * 16 + 6, stride 2
    (7, 13, 22, 22, 16, 1, False, False),  # no expand (MobileNetV2's first block)
    (9, 11, 8, 37, 8, 1, True, True),  # odd e: the float store
    (40, 40, 16, 96, 24, 1, True, True),  # several bands per image
    (14, 14, 32, 192, 32, 2, True, False),  # whole-image mode on 2 threads
]


def rand(rng: np.random.Generator, shape: tuple[int, ...], scale: float = 1.0) -> np.ndarray:
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def block_graph(
    rng: np.random.Generator, block: tuple, project_out: bool = True
) -> tuple[_core.Graph, dict[str, np.ndarray]]:
    """expand 1x1 (relu6) -> depthwise 3x3 'same' (relu6) -> project 1x1 (+ r)."""
    h, w, cin, e, cout, s, expand, residual = block
    g = _core.Graph()
    v = g.add_input("x", [None, h, w, cin if expand else e], "float32")
    wts = {
        "ek": rand(rng, (1, 1, cin, e), 0.5),
        "eb": rand(rng, (e,), 0.1),
        "dk": rand(rng, (3, 3, e), 0.5),
        "db": rand(rng, (e,), 0.1),
        "pk": rand(rng, (1, 1, e, cout), 0.3),
        "pb": rand(rng, (cout,), 0.1),
    }
    relu6 = {"activation": "relu6"}
    if expand:
        (v,) = g.add_op("conv2d", "expand", [v], relu6, {"kernel": wts["ek"], "bias": wts["eb"]})
    dattrs = {"strides": [s, s], "padding": "same", **relu6}
    (v,) = g.add_op("depthwise_conv2d", "dw", [v], dattrs, {"kernel": wts["dk"], "bias": wts["db"]})
    if not project_out:
        g.set_outputs([v])
        return g, wts
    (y,) = g.add_op("conv2d", "project", [v], {}, {"kernel": wts["pk"], "bias": wts["pb"]})
    if residual:
        r = g.add_input("r", [None, -(-h // s), -(-w // s), cout], "float32")
        (y,) = g.add_op("add", "add", [y, r], {}, {})
    g.set_outputs([y])
    return g, wts


def feeds(rng: np.random.Generator, block: tuple, batch: int) -> list[np.ndarray]:
    h, w, cin, e, cout, s, expand, residual = block
    out = [rand(rng, (batch, h, w, cin if expand else e))]
    if residual:
        out.append(rand(rng, (batch, -(-h // s), -(-w // s), cout)))
    return out


def run(
    monkeypatch: pytest.MonkeyPatch,
    g: _core.Graph,
    isa: str,
    threads: int,
    x: list[np.ndarray],
    bf16_store: bool = True,
    optimize: bool = True,
) -> np.ndarray:
    monkeypatch.setenv(ENV, "1" if bf16_store else "0")
    model = _core.CompiledModel(
        g, isa=isa, num_threads=threads, optimize=optimize, precision="bf16"
    )
    if optimize:
        assert [o[1] for o in model.ops()] == ["conv_chain"]
    return model.run(x)[0]


def bits(x: np.ndarray) -> np.ndarray:
    return x.view(np.uint32)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("block", BLOCKS)
def test_bf16_store_gives_the_float_store_bits(
    monkeypatch: pytest.MonkeyPatch, isa: str, threads: int, block: tuple
) -> None:
    rng = np.random.default_rng(block[3] * 10 + threads)
    g, _ = block_graph(rng, block)
    x = feeds(rng, block, 3 if threads == 1 else 1)
    got = run(monkeypatch, g, isa, threads, x)
    np.testing.assert_array_equal(bits(got), bits(run(monkeypatch, g, isa, threads, x, False)))
    unfused = run(monkeypatch, g, isa, 1, x, optimize=False)
    np.testing.assert_array_equal(bits(got), bits(unfused))


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("block", BLOCKS[:4] + BLOCKS[5:])
def test_bf16_store_against_the_numpy_model(
    monkeypatch: pytest.MonkeyPatch, isa: str, block: tuple
) -> None:
    """The project product of the fused block against lowp_model.gemm_bf16 on
    the float32 depthwise output (the same graph cut after the depthwise)."""
    rng = np.random.default_rng(block[3])
    g, wts = block_graph(rng, block)
    x = feeds(rng, block, 2)
    got = run(monkeypatch, g, isa, 1, x)
    cut, _ = block_graph(np.random.default_rng(block[3]), block, project_out=False)
    dw = run(monkeypatch, cut, isa, 1, x[:1], optimize=False)
    e, cout = block[3], block[4]
    residual = x[1].reshape(-1, cout) if block[7] else None
    ref = gemm_bf16(dw.reshape(-1, e), wts["pk"].reshape(e, cout), wts["pb"], residual)
    np.testing.assert_array_equal(bits(got.reshape(-1, cout)), bits(ref))
    assert np.isfinite(got).all() and np.abs(got).max() > 0.1


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("threads", [1, 2])
def test_bf16_store_same_bits_at_every_batch_size(
    monkeypatch: pytest.MonkeyPatch, isa: str, threads: int
) -> None:
    block = BLOCKS[4]
    rng = np.random.default_rng(7)
    g, _ = block_graph(rng, block)
    x = feeds(rng, block, 5)
    whole = run(monkeypatch, g, isa, threads, x)
    for i in range(5):
        one = run(monkeypatch, g, isa, threads, [f[i : i + 1] for f in x])
        np.testing.assert_array_equal(bits(one[0]), bits(whole[i]))
