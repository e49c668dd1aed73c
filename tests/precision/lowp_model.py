"""numpy models of the reduced-precision GEMMs (cpp/kernels/lowp.h), written
from the instruction definitions, not from our code's output:

- bf16: A and B rounded to bfloat16 (round to nearest even); Intel's
  VDPBF16PS pseudocode adds, per lane and k pair, the odd product then the
  even one, each add rounded to float32 (products of two bfloat16 are exact
  in float32), with bfloat16 denormal inputs and float32 denormal results
  flushed to zero.
- int8: B per column symmetric s8 (scale max|w| / 127); each A row asymmetric
  u8 (its own scale (hi - lo) / 255 with lo <= 0 <= hi, zero point
  rint(-lo / scale)); exact integer sums (VPDPBUSD), then
  float32(acc - zp * colsum) * (scale_a * scale_w).

Every step is float32 arithmetic as numpy does it (round to nearest even), so
the kernels must give these bits exactly.
"""

from __future__ import annotations

import numpy as np

F32 = np.float32
TINY = F32(2.0**-126)  # the smallest normal float32


def bf16(x: np.ndarray) -> np.ndarray:
    """float32 values rounded to bfloat16 (round to nearest even), as float32."""
    u = np.ascontiguousarray(x, dtype=F32).view(np.uint32).astype(np.uint64)
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16) & 0xFFFF
    return (r.astype(np.uint32) << 16).view(F32)


def _flush(x: np.ndarray) -> np.ndarray:
    return np.where(np.abs(x) < TINY, F32(0) * np.sign(x), x).astype(F32)


def _epilogue(
    acc: np.ndarray, bias: np.ndarray | None, residual: np.ndarray | None, act: str
) -> np.ndarray:
    y = acc.astype(F32)
    if bias is not None:
        y = (y + bias.astype(F32)).astype(F32)
    if residual is not None:
        y = (y + residual.astype(F32)).astype(F32)
    if act == "relu":
        y = np.maximum(y, F32(0))
    elif act != "linear":
        raise ValueError(act)
    return y


def gemm_bf16(
    a: np.ndarray,
    b: np.ndarray,
    bias: np.ndarray | None = None,
    residual: np.ndarray | None = None,
    act: str = "linear",
) -> np.ndarray:
    m, k = a.shape
    n = b.shape[1]
    kp = k + (k % 2)
    qa = np.zeros((m, kp), F32)
    qb = np.zeros((kp, n), F32)
    qa[:, :k] = _flush(bf16(a))
    qb[:k] = _flush(bf16(b))
    acc = np.zeros((m, n), F32)
    with np.errstate(over="ignore", invalid="ignore"):
        for p in range(kp // 2):
            for h in (1, 0):
                prod = (qa[:, 2 * p + h, None] * qb[None, 2 * p + h, :]).astype(F32)
                acc = _flush((acc + prod).astype(F32))
    return _epilogue(acc, bias, residual, act)


def quantize_weights(b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(q [k, n] int32 in [-127, 127], scale [n] float32) per column."""
    b = b.astype(F32)
    amax = np.abs(b).max(axis=0)
    scale = np.where(amax > 0, amax / F32(127), F32(1)).astype(F32)
    inv = (F32(1) / scale).astype(F32)
    q = np.clip(np.rint((b * inv).astype(F32)), -127, 127).astype(np.int64)
    return q, scale


def quantize_rows(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(q [m, k] in [0, 255], scale [m] float32, zero point [m]) per row."""
    a = a.astype(F32)
    lo = np.minimum(a.min(axis=1), F32(0))
    hi = np.maximum(a.max(axis=1), F32(0))
    span = (hi - lo).astype(F32)
    with np.errstate(over="ignore", divide="ignore"):
        scale = np.where(span > 0, span / F32(255), F32(1)).astype(F32)
        # A range so small that 1 / scale overflows counts as flat (hi == lo).
        ok = (span > 0) & np.isfinite(F32(1) / scale)
    scale = np.where(ok, scale, F32(1)).astype(F32)
    inv = (F32(1) / scale).astype(F32)
    zp = np.clip(np.rint((-lo * inv).astype(F32)), 0, 255)
    zp = np.where(ok, zp, 0).astype(np.int64)
    q = np.rint((a * inv[:, None]).astype(F32)) + zp[:, None]
    return np.clip(q, 0, 255).astype(np.int64), scale, zp


def gemm_int8(
    a: np.ndarray,
    b: np.ndarray,
    bias: np.ndarray | None = None,
    residual: np.ndarray | None = None,
    act: str = "linear",
) -> np.ndarray:
    qw, sw = quantize_weights(b)
    qa, sa, zp = quantize_rows(a)
    acc = qa @ qw - zp[:, None] * qw.sum(axis=0)[None, :]
    assert np.abs(acc).max(initial=0) < 2**31
    y = acc.astype(F32) * (sa[:, None] * sw[None, :]).astype(F32)
    return _epilogue(y.astype(F32), bias, residual, act)


MODELS = {"bf16": gemm_bf16, "int8": gemm_int8}
