"""Shared helpers of the CUDA kernel tests (tests/cuda/test_emu_*.py).

The kernels are reached through tfjs_infer._core._cuda_testing, present in a
TFJS_INFER_CUDA_EMU=ON build (kernels run on the host emulator) and in a
TFJS_INFER_CUDA=ON build (kernels run on the GPU). The expected values come
from the CPU engine: its generic kernels (_core._testing, isa "generic") and
its ops (core_graph.run_op with isa "generic").

Tolerances. Under emulation the device code is the same arithmetic in the same
order as the CPU generic kernels (products and sums rounded separately, float64
activations rounded once), so most kernels must match bit for bit; softmax
sums in a fixed tree instead of left to right (EXACT=False there, a few ulps).
On a real GPU, nvcc's --fmad=false keeps the roundings, but the device's
exp/tanh/erf may differ from glibc's in the last ulp of a float64, and that can
move a float32 result by one ulp: RTOL/ATOL apply there.

A build without the hooks skips these tests, unless TFJS_INFER_REQUIRE_CUDA_TESTS=1
(set by .ci/cuda-build.sh for its emulation build), which makes a missing hook an error.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from tfjs_infer import _core

# The one-op CPU graph runner of the op tests is the reference here too.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ops"))
from core_graph import run_op

__all__ = ["CT", "EMULATED", "needs_emulator", "needs_kernels", "rand", "run_op", "same"]

CT = getattr(_core, "_cuda_testing", None)
EMULATED = bool(CT is not None and CT.emulated)
REQUIRED = os.environ.get("TFJS_INFER_REQUIRE_CUDA_TESTS") == "1"
RTOL, ATOL = 2e-6, 1e-7  # one float32 ulp of slack per value on a real GPU


def _why_not() -> str:
    if CT is None:
        return "built without TFJS_INFER_CUDA_EMU=ON or TFJS_INFER_CUDA=ON"
    if EMULATED:
        return ""
    info = CT.device_info()
    return "" if info["count"] > 0 else f"no CUDA device ({info['count_error']})"


WHY_NOT = _why_not()
if REQUIRED and WHY_NOT:
    raise RuntimeError(f"TFJS_INFER_REQUIRE_CUDA_TESTS=1 but the kernels cannot run: {WHY_NOT}")

needs_kernels = pytest.mark.skipif(bool(WHY_NOT), reason=WHY_NOT)
needs_emulator = pytest.mark.skipif(
    not EMULATED, reason="emulator self-test: needs a TFJS_INFER_CUDA_EMU=ON build"
)


def same(got: np.ndarray, want: np.ndarray, exact: bool = True, rtol: float = RTOL) -> None:
    """Bit for bit under emulation (NaN equal to NaN), within rtol otherwise."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    if exact and EMULATED:
        np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))
    else:
        np.testing.assert_allclose(got, want, rtol=rtol, atol=ATOL, equal_nan=True)


def rand(rng: np.random.Generator, *shape: int, scale: float = 1.0) -> np.ndarray:
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def tf_geometry(size: int, k: int, stride: int, dil: int, same_pad: bool) -> tuple[int, int]:
    """TF's output size and padding before for one axis: (out, pad_before)."""
    k_eff = (k - 1) * dil + 1
    if not same_pad:
        return (size - k_eff) // stride + 1, 0
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + k_eff - size, 0)
    return out, total // 2


def with_specials(x: np.ndarray) -> np.ndarray:
    """x with NaN, +inf, -inf, -0 and huge values planted at fixed places."""
    flat = x.reshape(-1).copy()
    specials = [np.nan, np.inf, -np.inf, -0.0, 3e38, -3e38, 1e-40]
    for i, v in enumerate(specials):
        if i * 7 < flat.size:
            flat[i * 7] = v
    return flat.reshape(x.shape)
