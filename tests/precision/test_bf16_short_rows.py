"""The AVX512-BF16 GEMM's conversion of A rows of at most 32 values that are
not one array (x86/gemm_bf16_avx512bf16.cpp prepare_short: odd k, the im2col
rows of an image's first 3x3 layer over 3 channels), one vector per row.
TFJS_INFER_BF16_SHORT_ROWS=0 keeps the row-by-row conversion; the switch is
read once per process, so each setting runs in a fresh interpreter: there
every k from 1 to 33 (odd ones take the path, 33 does not) is checked bit for
bit against the numpy model (lowp_model.py), with +-inf in some rows so that
a value read past a row's end (times the packing's zero row: NaN) shows, and
against the other setting. Then a 3x3 stride-2 convolution over 3 channels
(27 taps per im2col row) on every ISA with bf16 kernels, at 1 and 2 threads,
against the numpy model on numpy's im2col, and bitwise across batch sizes."""

from __future__ import annotations

import os

import numpy as np
import pytest
from lowp_model import gemm_bf16

from child_process import run_json_child
from tfjs_infer import _core

# The AVX512-BF16 kernels, bit for bit: AMX off where the CPU has it (conftest.py).
pytestmark = pytest.mark.usefixtures("bf16_without_amx")

HAS_SIMD_BF16 = "avx512" in _core._testing.lowp_isas("bf16")
ISAS = _core._testing.lowp_isas("bf16")

CHILD = r"""
import hashlib, json, sys
import numpy as np
sys.path.insert(0, sys.argv[1] + "/precision")
from lowp_model import gemm_bf16
from tfjs_infer import _core
T = _core._testing
out = {"mismatch": [], "digest": []}
for k in range(1, 34):
    for m, n in ((1, 5), (13, 32), (37, 24)):
        rng = np.random.default_rng(m * 100 + k)
        a = rng.standard_normal((m, k)).astype(np.float32)
        a[1::3, 0] = np.inf  # the first value of some rows: a read past
        a[2::5, 0] = -np.inf  # the row before would give NaN
        b = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
        bias = rng.standard_normal(n).astype(np.float32)
        for got, ref in (
            (T.gemm_lowp("avx512", "bf16", a, b), gemm_bf16(a, b)),
            (T.gemm_lowp("avx512", "bf16", a, b, bias=bias, act="relu"),
             gemm_bf16(a, b, bias, None, "relu")),
            (T.gemm_lowp("avx512", "bf16", a, b, m_split=3), gemm_bf16(a, b)),
        ):
            same = np.array_equal(got.view(np.uint32), ref.view(np.uint32))
            nan_same = np.array_equal(np.isnan(got), np.isnan(ref))
            if not (same or (nan_same and np.array_equal(got, ref, equal_nan=True))):
                out["mismatch"].append([m, k, n])
            out["digest"].append(hashlib.sha1(got.tobytes()).hexdigest())
print(json.dumps(out))
"""


def run_with(setting: str) -> dict:
    env = dict(os.environ, TFJS_INFER_BF16_SHORT_ROWS=setting)
    return run_json_child(CHILD, env)


@pytest.mark.skipif(not HAS_SIMD_BF16, reason="no AVX512-BF16 kernel on this CPU")
def test_short_rows_match_numpy_model_and_the_row_by_row_conversion() -> None:
    short, by_row = run_with("1"), run_with("0")
    assert short["mismatch"] == []
    assert by_row["mismatch"] == []
    assert short["digest"] == by_row["digest"]


def stem_graph(w: np.ndarray, bias: np.ndarray, hw: int) -> _core.Graph:
    g = _core.Graph()
    v = g.add_input("x", [None, hw, hw, 3], "float32")
    attrs = {"strides": [2, 2], "padding": "same", "activation": "relu6"}
    (y,) = g.add_op("conv2d", "stem", [v], attrs, {"kernel": w, "bias": bias})
    g.set_outputs([y])
    return g


def stem_reference(x: np.ndarray, w: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """numpy's im2col of a 3x3 stride-2 'same' window (TF pads the bottom and
    right first on an even size), then the numpy model of the bf16 product."""
    n, hw, _, c = x.shape
    o = -(-hw // 2)
    pad = max((o - 1) * 2 + 3 - hw, 0)
    xp = np.pad(x, ((0, 0), (pad // 2, pad - pad // 2), (pad // 2, pad - pad // 2), (0, 0)))
    rows = np.stack(
        [xp[:, ky : ky + 2 * o : 2, kx : kx + 2 * o : 2, :] for ky in range(3) for kx in range(3)],
        axis=3,
    ).reshape(n * o * o, 9 * c)
    y = gemm_bf16(rows, w.reshape(9 * c, -1), bias)
    return np.minimum(np.maximum(y, np.float32(0)), np.float32(6)).reshape(n, o, o, -1)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("threads", [1, 2])
def test_stem_conv_matches_numpy_model_at_every_batch_size(isa: str, threads: int) -> None:
    rng = np.random.default_rng(27)
    hw = 22
    w = (rng.standard_normal((3, 3, 3, 32)) * 0.4).astype(np.float32)
    bias = (rng.standard_normal(32) * 0.1).astype(np.float32)
    x = rng.standard_normal((3, hw, hw, 3)).astype(np.float32)
    model = _core.CompiledModel(
        stem_graph(w, bias, hw), isa=isa, num_threads=threads, precision="bf16"
    )
    got = model.run([x])[0]
    np.testing.assert_array_equal(got.view(np.uint32), stem_reference(x, w, bias).view(np.uint32))
    assert ((got > 0) & (got < 6)).mean() > 0.3  # not clipped away
    for i in range(3):
        one = model.run([x[i : i + 1]])[0]
        np.testing.assert_array_equal(one[0].view(np.uint32), got[i].view(np.uint32))
