"""Shared by the huge-page weight tests (tests/ops/test_f32_huge_pages.py,
tests/precision/test_int8_huge_pages.py, tests/precision/test_bf16_huge_pages.py):
a GEMM blocking field that says from how many bytes packed weights go into
core/huge_pages.h's regions, set for a block of code, and seeded weights."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import numpy as np

import tfjs_infer
from tfjs_infer import _core


@contextlib.contextmanager
def huge_pages_from(field: str, nbytes: int) -> Iterator[None]:
    """GemmBlocking's `field` (f32_/int8_/bf16_huge_page_bytes) at `nbytes`
    while the block runs (models packed inside keep where they were put)."""
    gemm = tfjs_infer.build_info()["cpu"]["gemm"]
    saved = _core._testing.set_gemm_blocking(**dict(gemm, **{field: nbytes}))
    try:
        yield
    finally:
        _core._testing.set_gemm_blocking(**saved)


def weights(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Normal weights scaled by 1/sqrt(fan-in): activations stay near 1."""
    fan_in = math.prod(shape[:-1])
    return (rng.standard_normal(shape) / math.sqrt(fan_in)).astype(np.float32)
