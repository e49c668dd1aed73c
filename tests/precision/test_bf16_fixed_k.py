"""The AVX512-BF16 GEMM's tiles compiled for k = 16, 24 and 32 (x86/lowp_x86.h
lowp_tiles_fixed_k; GemmBlocking::fixed_k with the memory broadcast, on by
default on Zen 4) against the tiles for any k and the numpy model
(lowp_model.py): k = 15 to 33 around the fixed ones (15 pads to 16), full and
short row tiles (6-row tiles of 4 panels, 12-row tiles of 1 and 2 panels, a
chunk of 240 rows and its remainder), full and partial panels (3 panels and
a half panel never take them), bias and residual, linear and relu6 (relu and
tanh keep the tiles for any k), column ranges and row splits; and fused
MobileNet blocks (a bf16 A stored by the depthwise and read in place, k = 16
and 32) with TFJS_INFER_BF16_FIXED_K=0 and 1 in fresh interpreters."""

from __future__ import annotations

import os

import numpy as np
import pytest
from lowp_model import gemm_bf16
from test_bf16_mem_broadcast import BLOCK_CHILD

import tfjs_infer
from child_process import run_json_child
from tfjs_infer import _core

# The AVX512-BF16 kernels, bit for bit: AMX off where the CPU has it (conftest.py).
pytestmark = pytest.mark.usefixtures("bf16_without_amx")

T = _core._testing
HAS_SIMD_BF16 = "avx512" in T.lowp_isas("bf16")

SHAPES = [(6, 64), (12, 16), (13, 96), (30, 144), (250, 192), (500, 32), (25, 48), (19, 40)]


def model(a, b, bias, res, act: str) -> np.ndarray:
    y = gemm_bf16(a, b, bias, res, "linear")
    if act == "relu6":
        y = np.minimum(np.float32(6), np.maximum(np.float32(0), y))
    return y


def bits(x: np.ndarray) -> np.ndarray:
    return x.view(np.uint32)


@pytest.mark.skipif(not HAS_SIMD_BF16, reason="no AVX512-BF16 kernel on this CPU")
@pytest.mark.parametrize("k", [15, 16, 17, 24, 32, 33])
def test_fixed_k_tiles_match_the_any_k_tiles_and_numpy_model(k: int) -> None:
    saved = tfjs_infer.build_info()["cpu"]["gemm"]
    rng = np.random.default_rng(k + 71)
    try:
        for m, n in SHAPES:
            a = rng.standard_normal((m, k)).astype(np.float32)
            b = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
            bias = rng.standard_normal(n).astype(np.float32)
            res = rng.standard_normal((m, n)).astype(np.float32)
            for act in ("linear", "relu6", "relu", "tanh"):
                for with_res in (False, True):
                    r = res if with_res else None
                    outs = []
                    for fixed in (0, 1):
                        T.set_gemm_blocking(**{**saved, "fixed_k": fixed, "bf16_mem_broadcast": 1})
                        got = T.gemm_lowp("avx512", "bf16", a, b, bias=bias, residual=r, act=act)
                        outs.append(got)
                        if act in ("linear", "relu6"):
                            ref = model(a, b, bias, r, act)
                            assert np.array_equal(bits(got), bits(ref)), (m, n, act, fixed)
                        split = T.gemm_lowp(
                            "avx512", "bf16", a, b, bias=bias, residual=r, act=act, m_split=3
                        )
                        assert np.array_equal(bits(split), bits(got)), (m, n, act, fixed)
                        if n > 32:
                            part = T.gemm_lowp(
                                "avx512", "bf16", a, b, bias=bias, act=act, n_begin=16, n_end=n - 3
                            )
                            full = T.gemm_lowp("avx512", "bf16", a, b, bias=bias, act=act)
                            assert np.array_equal(
                                bits(part[:, 16 : n - 3]), bits(full[:, 16 : n - 3])
                            )
                            assert (part[:, :16] == 7777.0).all() and (
                                part[:, n - 3 :] == 7777.0
                            ).all()
                    assert np.array_equal(bits(outs[0]), bits(outs[1])), (m, n, act, with_res)
    finally:
        T.set_gemm_blocking(**saved)


@pytest.mark.skipif(not HAS_SIMD_BF16, reason="no AVX512-BF16 kernel on this CPU")
def test_fixed_k_tiles_in_fused_blocks() -> None:
    child = "import json, sys\nimport numpy as np\nfrom tfjs_infer import _core\nout = {}\n"
    child += BLOCK_CHILD
    runs = {}
    for setting in ("1", "0"):
        env = dict(
            os.environ,
            TFJS_INFER_BF16_FIXED_K=setting,
            TFJS_INFER_GEMM_FIXED_K="1",
            TFJS_INFER_BF16_MEM_BROADCAST="1",
        )
        runs[setting] = run_json_child(child, env)
    assert runs["1"]["blocks"] == runs["0"]["blocks"]
    blocks = runs["1"]["blocks"]
    assert blocks[0::2] == blocks[1::2]  # 1 and 2 threads: the same bits
    assert len(set(blocks)) == len(blocks) // 2  # the blocks differ
