"""fp32 weights on transparent huge pages (core/huge_pages.h;
GemmBlocking::f32_huge_page_bytes: every fp32 packed weight (1 byte) on AMD
family 0x19, none elsewhere; TFJS_INFER_F32_HUGE_PAGES): where the packed
weights live changes no bit. A model of a 3x3 convolution, a MobileNet block
(expand, depthwise, project: one conv_chain op) and a dense layer, with every
packed weight in the huge-page regions (threshold 1 byte: the blocks follow one
another in one region, so a block handed out twice or too short would overwrite
its neighbour's weights), with some (a threshold between their sizes) and with
none (0), on every ISA, at 1-3 threads and batches 1-5, against the 0 bits and a
float64 numpy model; the regions' blocks are freed with their model."""

from __future__ import annotations

import contextlib
import gc

import numpy as np
import pytest

import tfjs_infer
from huge_page_utils import huge_pages_from, weights
from tfjs_infer import _core

T = _core._testing
ISAS = list(tfjs_infer.available_isas())
H, W, CIN, C1, E, COUT, UNITS = 9, 7, 8, 64, 72, 24, 37
# Packed weights, k x n padded to the panel width (8-32 floats by ISA): the
# 3x3 conv (72 x 64: 18 KiB, past the direct kernel's 16 KiB), the expand
# (64 x 72-96), the project (72 x 24-32: 6.8-9 KiB), the dense layer (1512 x
# 40-64): 10 KiB lies between the project and the others on every ISA.
PACKED = 4
MID = 10 << 10


def huge_from(nbytes: int) -> contextlib.AbstractContextManager[None]:
    return huge_pages_from("f32_huge_page_bytes", nbytes)


def network() -> tuple[_core.Graph, dict[str, np.ndarray]]:
    """x -> 3x3 conv (relu) -> 1x1 expand (relu6) -> 3x3 depthwise (relu6)
    -> 1x1 project -> flatten -> dense (37)."""
    rng = np.random.default_rng(16)
    w = {
        "ck": weights(rng, (3, 3, CIN, C1)),
        "ek": weights(rng, (1, 1, C1, E)),
        "dk": weights(rng, (3, 3, E)),
        "pk": weights(rng, (1, 1, E, COUT)),
        "wd": weights(rng, (H * W * COUT, UNITS)),
    }
    for name, n in (("cb", C1), ("eb", E), ("db", E), ("pb", COUT), ("bd", UNITS)):
        w[name] = (rng.standard_normal(n) / 4).astype(np.float32)
    g = _core.Graph()
    x = g.add_input("x", [None, H, W, CIN], "float32")
    same = {"strides": [1, 1], "padding": "same"}
    (c,) = g.add_op(
        "conv2d", "c", [x], dict(same, activation="relu"), {"kernel": w["ck"], "bias": w["cb"]}
    )
    relu6 = dict(same, activation="relu6")
    (e,) = g.add_op("conv2d", "expand", [c], relu6, {"kernel": w["ek"], "bias": w["eb"]})
    (d,) = g.add_op(
        "depthwise_conv2d",
        "dw",
        [e],
        relu6,
        {"kernel": w["dk"], "bias": w["db"]},
    )
    (p,) = g.add_op("conv2d", "project", [d], same, {"kernel": w["pk"], "bias": w["pb"]})
    (f,) = g.add_op("reshape", "flat", [p], {"shape": [-1]})
    (y,) = g.add_op("dense", "d", [f], {}, {"kernel": w["wd"], "bias": w["bd"]})
    g.set_outputs([y])
    return g, w


def conv64(x: np.ndarray, k: np.ndarray, b: np.ndarray, depthwise: bool = False) -> np.ndarray:
    """'same' stride-1 convolution in float64 (NHWC, HWIO; depthwise: HWC)."""
    kh, kw = k.shape[:2]
    xp = np.pad(x.astype(np.float64), ((0, 0), (kh // 2,) * 2, (kw // 2,) * 2, (0, 0)))
    n, h, w_, _ = x.shape
    out = np.zeros((n, h, w_, k.shape[2] if depthwise else k.shape[3]))
    for dy in range(kh):
        for dx in range(kw):
            win = xp[:, dy : dy + h, dx : dx + w_, :]
            if depthwise:
                out += win * k[dy, dx]
            else:
                out += win @ k[dy, dx].astype(np.float64)
    return out + b


def reference(w: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    c = np.maximum(conv64(x, w["ck"], w["cb"]), 0)
    e = np.clip(conv64(c, w["ek"], w["eb"]), 0, 6)
    d = np.clip(conv64(e, w["dk"], w["db"], depthwise=True), 0, 6)
    p = conv64(d, w["pk"], w["pb"])
    return p.reshape(len(x), -1) @ w["wd"].astype(np.float64) + w["bd"]


def outputs(model: _core.CompiledModel, x: np.ndarray) -> list[np.ndarray]:
    """The whole batch, then each image alone."""
    return [model.run([x])[0]] + [model.run([x[i : i + 1]])[0] for i in range(len(x))]


@pytest.mark.parametrize("isa", ISAS)
def test_f32_weights_on_huge_pages_keep_the_bits(isa: str) -> None:
    g, w = network()
    rng = np.random.default_rng(7)
    x = rng.standard_normal((5, H, W, CIN)).astype(np.float32)
    x[4, 3, 2, 1] = np.nan
    want = reference(w, x[:4])
    gc.collect()
    blocks0 = T.huge_pages_stats()[1]
    got: dict[int, list[list[np.ndarray]]] = {}
    for nbytes in (0, MID, 1):
        with huge_from(nbytes):
            models = [_core.CompiledModel(g, isa=isa, num_threads=t) for t in (1, 2, 3)]
        blocks = T.huge_pages_stats()[1] - blocks0
        # Every packed weight of each model in the regions at 1 byte, all but
        # the project's at MID, none at 0.
        assert blocks == {0: 0, MID: PACKED - 1, 1: PACKED}[nbytes] * len(models), nbytes
        assert [o[1] for o in models[0].ops()].count("conv_chain") == 1
        got[nbytes] = [outputs(m, x) for m in models]
        del models
        gc.collect()
        assert T.huge_pages_stats()[1] == blocks0
    base = got[0][0]
    np.testing.assert_allclose(base[0][:4], want, rtol=2e-4, atol=2e-5)
    assert np.isnan(base[0][4]).all()
    for nbytes, per_model in got.items():
        for threads, outs in zip((1, 2, 3), per_model):
            np.testing.assert_array_equal(outs[0], base[0], err_msg=f"{nbytes} B, {threads} t")
            np.testing.assert_array_equal(
                np.concatenate(outs[1:]), base[0], err_msg=f"{nbytes} B, {threads} t, 1 image"
            )


def test_zen4_and_intel_default_puts_f32_weights_on_huge_pages() -> None:
    cpu = tfjs_infer.build_info()["cpu"]
    zen4 = cpu["vendor"] == "AuthenticAMD" and cpu["family"] == 0x19
    on = zen4 or cpu["vendor"] == "GenuineIntel"
    assert cpu["gemm_derived"]["f32_huge_page_bytes"] == (1 if on else 0)
