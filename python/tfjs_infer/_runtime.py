"""Build and runtime introspection."""

from __future__ import annotations

from typing import Any

from . import _core


def build_info() -> dict[str, Any]:
    """The ISAs built and selected, OpenMP, CUDA and compiler facts."""
    return dict(_core.build_info())


def available_isas() -> list[str]:
    """Instruction sets this build can run on this CPU."""
    return list(_core.available_isas())


def show_runtime() -> None:
    """Print build_info() (for bug reports and benchmark headers)."""
    for key, value in build_info().items():
        print(f"{key}: {value}")
