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


def conv_pads(size: int, k: int, stride: int, padding: str) -> tuple[int, int, int]:
    """(before, after, out) along one axis, as TF pads ('same': the odd one after)."""
    if padding == "same":
        out = -(-size // stride)
        total = max((out - 1) * stride + k - size, 0)
        return total // 2, total - total // 2, out
    return 0, 0, (size - k) // stride + 1


def conv2d_int8(
    x: np.ndarray,
    w: np.ndarray,
    bias: np.ndarray | None,
    stride: int,
    padding: str,
    residual: np.ndarray | None = None,
    act: str = "linear",
) -> np.ndarray:
    """The int8 2D convolution (ungrouped, undilated). A kernel larger than
    1x1 quantizes its input per sample (cpp/ops/conv_int8.cpp): each image
    [h, w, cin] quantized as one row of quantize_rows (its own range, scale
    and zero point), padded with its zero point, the windows' u8 values times
    the per-column weights in exact integers, then float32(acc - zp * colsum)
    * (scale_a * scale_w). A 1x1 kernel keeps the GEMM's per-row scheme: each
    pixel it reads is one row of gemm_int8."""
    n, h, wd, cin = x.shape
    kh, kw, _, cout = w.shape
    pt, _, oh = conv_pads(h, kh, stride, padding)
    pl, _, ow = conv_pads(wd, kw, stride, padding)
    if kh * kw == 1:
        a = x[:, : (oh - 1) * stride + 1 : stride, : (ow - 1) * stride + 1 : stride]
        res = None if residual is None else residual.reshape(n * oh * ow, cout)
        y = gemm_int8(a.reshape(n * oh * ow, cin), w.reshape(cin, cout), bias, res, act)
        return y.reshape(n, oh, ow, cout)
    qw, sw = quantize_weights(w.reshape(kh * kw * cin, cout))
    out = np.zeros((n, oh, ow, cout), F32)
    for i in range(n):
        q, sa, zp = quantize_rows(x[i].reshape(1, -1))
        hp, wp = (oh - 1) * stride + kh, (ow - 1) * stride + kw
        img = np.full((hp, wp, cin), zp[0], np.int64)
        src = q.reshape(h, wd, cin)
        # The input's rows / columns that land inside the padded window area.
        ys, xs = slice(max(0, -pt), min(h, hp - pt)), slice(max(0, -pl), min(wd, wp - pl))
        img[ys.start + pt : ys.stop + pt, xs.start + pl : xs.stop + pl] = src[ys, xs]
        cols = [
            img[ky : ky + (oh - 1) * stride + 1 : stride, kx : kx + (ow - 1) * stride + 1 : stride]
            for ky in range(kh)
            for kx in range(kw)
        ]
        a = np.stack(cols, axis=2).reshape(oh * ow, kh * kw * cin)
        acc = a @ qw - zp[0] * qw.sum(axis=0)[None, :]
        assert np.abs(acc).max(initial=0) < 2**31
        y = acc.astype(F32) * (sa[0] * sw).astype(F32)
        res = None if residual is None else residual[i].reshape(oh * ow, cout)
        out[i] = _epilogue(y.astype(F32), bias, res, act).reshape(oh, ow, cout)
    return out
