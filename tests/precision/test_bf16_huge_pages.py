"""bf16 weights on transparent huge pages (core/huge_pages.h;
GemmBlocking::bf16_huge_page_bytes: every bf16 packed weight (1 byte) on AMD
family 0x19, none elsewhere; TFJS_INFER_BF16_HUGE_PAGES): where the packed
weights live changes no bit. A model of two dense layers, checked against the
numpy model of the bf16 scheme, and fused MobileNet blocks (expand, depthwise,
project: one conv_chain op), with every packed weight in the huge-page regions
(threshold 1 byte: the blocks follow one another in one region, so a block
handed out twice or too short would overwrite its neighbour's weights) and
with none (0), on every ISA with a bf16 kernel, at 1-3 threads, the batch at
once and each sample alone; the regions' blocks are freed with their model."""

from __future__ import annotations

import contextlib
import gc

import numpy as np
import pytest
from lowp_model import gemm_bf16
from test_conv_chain_bf16 import BLOCKS, block_graph, feeds

import tfjs_infer
from huge_page_utils import huge_pages_from, weights
from tfjs_infer import _core

# The AVX512-BF16 kernels, bit for bit: AMX off where the CPU has it (conftest.py).
pytestmark = pytest.mark.usefixtures("bf16_without_amx")

T = _core._testing
ISAS = list(T.lowp_isas("bf16"))
THREADS = (1, 2, 3)


def huge_from(nbytes: int) -> contextlib.AbstractContextManager[None]:
    return huge_pages_from("bf16_huge_page_bytes", nbytes)


def dense_network() -> tuple[_core.Graph, np.ndarray, np.ndarray]:
    """x (5 x 203) -> dense (96, relu) -> dense (37): the graph, its input and
    the numpy model's output."""
    rng = np.random.default_rng(17)
    x = rng.standard_normal((5, 203)).astype(np.float32)
    w1, w2 = weights(rng, (203, 96)), weights(rng, (96, 37))
    b1, b2 = (rng.standard_normal(n).astype(np.float32) / 4 for n in (96, 37))
    g = _core.Graph()
    xin = g.add_input("x", [None, 203], "float32")
    (h,) = g.add_op("dense", "d1", [xin], {"activation": "relu"}, {"kernel": w1, "bias": b1})
    (y,) = g.add_op("dense", "d2", [h], {}, {"kernel": w2, "bias": b2})
    g.set_outputs([y])
    want = gemm_bf16(gemm_bf16(x, w1, b1, None, "relu"), w2, b2, None, "linear")
    return g, x, want


def outputs(model: _core.CompiledModel, inputs: list[np.ndarray]) -> np.ndarray:
    """The batch at once, checked against each sample alone."""
    whole = model.run(inputs)[0]
    one = np.concatenate([model.run([v[i : i + 1] for v in inputs])[0] for i in range(len(whole))])
    np.testing.assert_array_equal(one, whole)
    return whole


def run_at(
    nbytes: int, g: _core.Graph, isa: str, inputs: list[np.ndarray], packed: int | None
) -> list[np.ndarray]:
    """Each thread count's outputs with weights from `nbytes` on huge pages;
    `packed`: the packed weights per model (None: at least one)."""
    gc.collect()
    blocks0 = T.huge_pages_stats()[1]
    with huge_from(nbytes):
        models = [_core.CompiledModel(g, isa=isa, num_threads=t, precision="bf16") for t in THREADS]
    blocks = T.huge_pages_stats()[1] - blocks0
    if nbytes == 0:
        assert blocks == 0
    elif packed is None:
        assert blocks >= len(models) and blocks % len(models) == 0
    else:
        assert blocks == packed * len(models)
    got = [outputs(m, inputs) for m in models]
    del models
    gc.collect()
    assert T.huge_pages_stats()[1] == blocks0
    return got


@pytest.mark.parametrize("isa", ISAS)
def test_bf16_dense_weights_on_huge_pages_keep_the_bits(isa: str) -> None:
    g, x, want = dense_network()
    for nbytes in (0, 1):
        for threads, y in zip(THREADS, run_at(nbytes, g, isa, [x], 2)):
            np.testing.assert_array_equal(y, want, err_msg=f"from {nbytes} B, {threads} threads")


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("block", [BLOCKS[0], BLOCKS[4], BLOCKS[5]], ids=str)
def test_bf16_chain_weights_on_huge_pages_keep_the_bits(isa: str, block: tuple) -> None:
    rng = np.random.default_rng(block[3])
    g, _ = block_graph(rng, block)
    inputs = feeds(rng, block, 3)
    base = run_at(0, g, isa, inputs, None)
    huge = run_at(1, g, isa, inputs, None)
    for threads, a, b in zip(THREADS, base, huge):
        np.testing.assert_array_equal(b, a, err_msg=f"{threads} threads")
        np.testing.assert_array_equal(a, base[0], err_msg=f"{threads} threads against 1")


def test_zen4_default_puts_bf16_weights_on_huge_pages() -> None:
    cpu = tfjs_infer.build_info()["cpu"]
    zen4 = cpu["vendor"] == "AuthenticAMD" and cpu["family"] == 0x19
    assert cpu["gemm_derived"]["bf16_huge_page_bytes"] == (1 if zen4 else 0)
