"""The AVX512-BF16 GEMM's half panel (x86/lowp_x86.h lowp_tile H): a last
panel of at most 8 columns computed on 256-bit vectors, on by default where
512-bit operations are split in two (Zen 4; kernels/lowp.h
lowp_bf16_half_panels). TFJS_INFER_BF16_HALF_PANEL is read once per process,
so each setting runs in a fresh interpreter: there the kernel is checked bit
for bit against the numpy model (lowp_model.py) on column counts whose last
panel has 1 to 8 columns (and 9+, which never takes it), every tile height's
remainder, k long enough for k blocks, a column range ending inside the half
panel, every epilogue kind; and against the other setting."""

from __future__ import annotations

import os

import pytest

from child_process import run_json_child
from tfjs_infer import _core

# The AVX512-BF16 kernels, bit for bit: AMX off where the CPU has it (conftest.py).
pytestmark = pytest.mark.usefixtures("bf16_without_amx")

HAS_SIMD_BF16 = "avx512" in _core._testing.lowp_isas("bf16")

CHILD = r"""
import json, sys
import numpy as np
sys.path.insert(0, sys.argv[1] + "/precision")
from lowp_model import gemm_bf16
from tfjs_infer import _core
T = _core._testing
out = {"mismatch": [], "digest": []}
cases = [(1, 7, 1), (7, 31, 24), (13, 100, 40), (25, 147, 24), (12, 32, 16 + 8),
         (50, 1030, 72), (250, 20, 9), (6, 64, 25), (37, 96, 8)]
for m, k, n in cases:
    rng = np.random.default_rng(m * 1000 + k + n)
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    res = rng.standard_normal((m, n)).astype(np.float32)
    runs = [
        ("linear", T.gemm_lowp("avx512", "bf16", a, b), gemm_bf16(a, b)),
        ("relu", T.gemm_lowp("avx512", "bf16", a, b, bias=bias, residual=res, act="relu"),
         gemm_bf16(a, b, bias, res, "relu")),
    ]
    for name, got, ref in runs:
        if not np.array_equal(got.view(np.uint32), ref.view(np.uint32)):
            out["mismatch"].append([m, k, n, name])
    # relu6 and a general activation (no numpy model here): digests compared
    # across the settings; n_end inside the last panel.
    for act in ("relu6", "tanh"):
        got = T.gemm_lowp("avx512", "bf16", a, b, bias=bias, act=act)
        out["digest"].append(got.tobytes().hex())
    if n > 16:
        part = T.gemm_lowp("avx512", "bf16", a, b, bias=bias, n_begin=16, n_end=n - 1)
        full = T.gemm_lowp("avx512", "bf16", a, b, bias=bias)
        if not np.array_equal(part[:, 16 : n - 1], full[:, 16 : n - 1]):
            out["mismatch"].append([m, k, n, "range"])
        if not ((part[:, :16] == 7777.0).all() and (part[:, n - 1 :] == 7777.0).all()):
            out["mismatch"].append([m, k, n, "outside"])
print(json.dumps(out))
"""


def run_with(setting: str) -> dict:
    env = dict(os.environ, TFJS_INFER_BF16_HALF_PANEL=setting)
    return run_json_child(CHILD, env)


@pytest.mark.skipif(not HAS_SIMD_BF16, reason="no AVX512-BF16 kernel on this CPU")
def test_half_panel_matches_numpy_model_and_the_full_panel() -> None:
    half, full = run_with("1"), run_with("0")
    assert half["mismatch"] == []
    assert full["mismatch"] == []
    assert half["digest"] == full["digest"]
    assert len(set(half["digest"])) == len(half["digest"])  # the cases differ
