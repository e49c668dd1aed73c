"""int8 weights on transparent huge pages (core/huge_pages.h;
GemmBlocking::int8_huge_page_bytes: every int8 weight (1 byte) on AMD
family 0x19, none elsewhere; TFJS_INFER_INT8_HUGE_PAGES): where the packed weights live changes
no bit. Models of several int8 convolutions (3x3 per sample, 1x1 per row,
a strided 1x1 with a fused residual) and a dense layer, with every weight in
the huge-page regions (threshold 1 byte: the blocks follow one another in one
region, so a block handed out twice or too short would overwrite its
neighbour's weights) and with none (0), against the numpy model of the int8
scheme on every ISA with an int8 kernel, at 1 and 2 threads; the regions'
blocks are freed with their model."""

from __future__ import annotations

import contextlib
import gc

import numpy as np
import pytest
from lowp_model import conv2d_int8, gemm_int8

import tfjs_infer
from huge_page_utils import huge_pages_from, weights
from tfjs_infer import _core

T = _core._testing
ISAS = list(T.lowp_isas("int8"))


def huge_from(nbytes: int) -> contextlib.AbstractContextManager[None]:
    return huge_pages_from("int8_huge_page_bytes", nbytes)


def network() -> tuple[_core.Graph, list[np.ndarray], np.ndarray]:
    """x -> 3x3 conv (64) -> 1x1 conv (96) -> 1x1/2 conv (96) + residual
    -> flatten -> dense (37): the graph, its inputs and the numpy model's
    output."""
    rng = np.random.default_rng(15)
    x = np.maximum(rng.standard_normal((3, 8, 8, 24)), -0.4).astype(np.float32)
    x[1] *= 4.0
    r = rng.standard_normal((3, 4, 4, 96)).astype(np.float32)
    w1, w2, w3 = (weights(rng, s) for s in ((3, 3, 24, 64), (1, 1, 64, 96), (1, 1, 96, 96)))
    wd = weights(rng, (4 * 4 * 96, 37))
    b1, b2, b3, bd = (rng.standard_normal(n).astype(np.float32) for n in (64, 96, 96, 37))
    g = _core.Graph()
    xin = g.add_input("x", [None, 8, 8, 24], "float32")
    rin = g.add_input("r", [None, 4, 4, 96], "float32")
    same = {"strides": [1, 1], "padding": "same", "activation": "relu"}
    (y1,) = g.add_op("conv2d", "c1", [xin], same, {"kernel": w1, "bias": b1})
    (y2,) = g.add_op("conv2d", "c2", [y1], same, {"kernel": w2, "bias": b2})
    strided = {"strides": [2, 2], "padding": "same", "activation": "relu", "has_residual": 1}
    (y3,) = g.add_op("conv2d", "c3", [y2, rin], strided, {"kernel": w3, "bias": b3})
    (f,) = g.add_op("reshape", "flat", [y3], {"shape": [-1]})
    (y,) = g.add_op("dense", "d", [f], {}, {"kernel": wd, "bias": bd})
    g.set_outputs([y])
    h1 = conv2d_int8(x, w1, b1, 1, "same", None, "relu")
    h2 = conv2d_int8(h1, w2, b2, 1, "same", None, "relu")
    h3 = conv2d_int8(h2, w3, b3, 2, "same", r, "relu")
    return g, [x, r], gemm_int8(h3.reshape(3, -1), wd, bd, None, "linear")


@pytest.mark.parametrize("isa", ISAS)
def test_int8_weights_on_huge_pages_keep_the_bits(isa: str) -> None:
    g, inputs, want = network()
    gc.collect()
    regions0, blocks0 = T.huge_pages_stats()
    for nbytes in (0, 1):
        with huge_from(nbytes):
            models = [
                _core.CompiledModel(g, isa=isa, num_threads=t, optimize=False, precision="int8")
                for t in (1, 2)
            ]
        regions, blocks = T.huge_pages_stats()
        # The four packed weights of each model, in the regions at 1 byte.
        assert blocks - blocks0 == (8 if nbytes else 0)
        assert regions >= (1 if nbytes else regions0)
        for model in models:
            assert list(model.op_precisions()).count("int8") == 4
            np.testing.assert_array_equal(model.run(inputs)[0], want, err_msg=f"from {nbytes}")
            one = np.concatenate([model.run([v[i : i + 1] for v in inputs])[0] for i in range(3)])
            np.testing.assert_array_equal(one, want)
        del models, model  # the loop variable holds the last one
        gc.collect()
        assert T.huge_pages_stats()[1] == blocks0


def test_zen4_default_puts_large_int8_weights_on_huge_pages() -> None:
    cpu = tfjs_infer.build_info()["cpu"]
    zen4 = cpu["vendor"] == "AuthenticAMD" and cpu["family"] == 0x19
    assert cpu["gemm_derived"]["int8_huge_page_bytes"] == (1 if zen4 else 0)
