"""The int8 range pass's unsigned scan (x86 Int8::range_unsigned, kernels/lowp.h
lowp_int8_sign_range): rows without a sign bit take their range from one
unsigned max of the bit patterns, rows with one (a negative value, -0.0, a
negative NaN) the float pass. TFJS_INFER_INT8_SIGN_RANGE is read once per
process, so each setting runs in a fresh interpreter; there every int8 ISA's
GEMM (per-row quantization) and per-sample quantizer are checked against the
numpy model (lowp_model.py) bit for bit on rows built for the scan: post-ReLU
rows, all +0, the largest value in the last lane of every k tail (k from 1 to
257: the 32-value loop, the 16-value tail, masked lanes), denormals, values
so small that the row is flat, huge values, and rows whose sign bit sends
them to the float pass (-0.0 among positives, one negative value, a negative
NaN); rows with +inf or a NaN give NaN rows. Rows and columns split in two (as
threads split them), and both settings give the same bits."""

from __future__ import annotations

import os

import pytest

from child_process import run_json_child
from tfjs_infer import _core

HAS_SIMD_INT8 = any(isa != "generic" for isa in _core._testing.lowp_isas("int8"))

CHILD = r"""
import json, sys
import numpy as np
sys.path.insert(0, sys.argv[1] + "/precision")
from lowp_model import gemm_int8, quantize_rows
from tfjs_infer import _core
T = _core._testing
out = {"mismatch": [], "digest": [], "nan_rows": 0}


def rows(k, seed):
    rng = np.random.default_rng(seed)
    a = np.maximum(rng.standard_normal((24, k)), 0).astype(np.float32)  # post-ReLU
    a[0] = 0.0
    a[1, k - 1] = 7.5  # the largest value in the last lane
    a[2] *= np.float32(1e-44)  # denormals
    a[3] *= np.float32(1e-38)  # 1 / scale overflows: flat
    a[4] *= np.float32(1e37)
    a[5, k // 2] = -0.0  # a sign bit: the float pass, same range
    a[6, k - 1] = -0.5  # a negative value in the last lane
    a[7] = np.abs(rng.standard_normal(k)).astype(np.float32) + np.float32(1)  # no zero
    a[8] = np.float32(3.0)  # flat positive row: lo = +0
    nan_rows = []
    if k > 1:
        a[9, k - 1] = np.inf
        a[10, 0] = np.nan
        neg_nan = np.array([0xFFC00000], np.uint32).view(np.float32)[0]
        a[11, k // 2] = neg_nan  # a negative NaN: sign bit, float pass
        nan_rows = [9, 10, 11]
    return a, nan_rows


for isa in T.lowp_isas("int8"):
    for k in (1, 3, 15, 16, 17, 31, 32, 33, 47, 64, 100, 257):
        a, nan_rows = rows(k, k)
        n = 37
        rng = np.random.default_rng(1000 + k)
        b = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
        bias = rng.standard_normal(n).astype(np.float32)
        res = rng.standard_normal((a.shape[0], n)).astype(np.float32)
        ok = [i for i in range(a.shape[0]) if i not in nan_rows]
        want = gemm_int8(a[ok], b, bias, res[ok], "relu")
        for ms, ns in ((1, 1), (2, 1), (1, 2)):  # row and column splits, as threads cut
            got = T.gemm_lowp(isa, "int8", a, b, bias=bias, residual=res, act="relu",
                              m_split=ms, n_split=ns)
            if not np.array_equal(got[ok].view(np.uint32), want.view(np.uint32)):
                out["mismatch"].append([isa, k, ms, ns, "gemm"])
            if not all(np.isnan(got[i]).all() for i in nan_rows):
                out["mismatch"].append([isa, k, ms, ns, "nan"])
            out["nan_rows"] += len(nan_rows)
            out["digest"].append(got.tobytes().hex())
        for i in ok:
            q, scale, zp = T.int8_quantize_sample(isa, a[i])
            wq, ws, wz = quantize_rows(a[i].reshape(1, -1))
            if (np.float32(scale), zp) != (ws[0], wz[0]) or not np.array_equal(q, wq[0]):
                out["mismatch"].append([isa, k, i, "sample"])
        for i in nan_rows:
            if not np.isnan(T.int8_quantize_sample(isa, a[i])[1]):
                out["mismatch"].append([isa, k, i, "sample nan"])
print(json.dumps(out))
"""


def run_with(setting: str) -> dict:
    env = dict(os.environ, TFJS_INFER_INT8_SIGN_RANGE=setting)
    return run_json_child(CHILD, env)


@pytest.mark.skipif(not HAS_SIMD_INT8, reason="no SIMD int8 kernel on this CPU")
def test_sign_range_matches_numpy_model_and_the_float_pass() -> None:
    scan, floats = run_with("1"), run_with("0")
    assert scan["mismatch"] == []
    assert floats["mismatch"] == []
    assert scan["nan_rows"] > 0
    assert scan["digest"] == floats["digest"]
