"""CUDA backend checks: skipped on machines without a CUDA build and GPU."""

from __future__ import annotations

import pytest

import tfjs_infer

INFO = tfjs_infer.build_info()
needs_gpu = pytest.mark.skipif(
    not (INFO["cuda_compiled"] and INFO["cuda_devices"]),
    reason="needs a TFJS_INFER_CUDA=ON build and a visible CUDA device",
)


def test_build_info_reports_cuda_fields() -> None:
    assert isinstance(INFO["cuda_compiled"], bool)
    assert isinstance(INFO["cuda_devices"], list)
    if not INFO["cuda_compiled"]:
        assert INFO["cuda_devices"] == []


@needs_gpu
def test_cuda_devices_are_named() -> None:
    assert all(isinstance(name, str) and name for name in INFO["cuda_devices"])
