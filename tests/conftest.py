"""Test configuration: fixture helpers live in tests/fixture_utils.py."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


from collections.abc import Iterator

import pytest


@pytest.fixture
def bf16_without_amx(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The bf16 GEMM on vdpbf16ps where the CPU also has AMX tiles: tests that
    check the AVX512-BF16 kernels bit for bit against lowp_model.py (whose
    summation order is vdpbf16ps's; the tiles sum in their own order,
    tests/precision/test_bf16_amx.py) set GemmBlocking::bf16_amx to 0 in this
    process and TFJS_INFER_BF16_AMX=0 for the children they start. Models
    loaded meanwhile take the bf16 direct convolution as they do without AMX."""
    import tfjs_infer
    from tfjs_infer import _core

    monkeypatch.setenv("TFJS_INFER_BF16_AMX", "0")
    saved = _core._testing.set_gemm_blocking(
        **{**tfjs_infer.build_info()["cpu"]["gemm"], "bf16_amx": 0}
    )
    try:
        yield
    finally:
        _core._testing.set_gemm_blocking(**saved)
