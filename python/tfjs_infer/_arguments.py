"""Checks of the arguments of load_model and Model: each refuses a wrong type or
value with an InvalidArgumentError that names the parameter, what it takes and
what it received (instead of pybind11's constructor signature, or a silent
"all cores" for 0)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

from .errors import InvalidArgumentError


def _describe(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})"


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_num_threads(value: Any, name: str = "num_threads") -> int | None:
    """None (all cores) or a positive int; returns it as a Python int."""
    if value is None:
        return None
    if not _is_int(value) or int(value) < 1:
        raise InvalidArgumentError(
            f"{name} must be a positive integer (or None for all cores); received "
            f"{_describe(value)}"
        )
    return int(value)


def check_positive_seconds(value: Any, name: str, *, allow_inf: bool = False) -> float:
    """A positive number of seconds (finite unless `allow_inf`)."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok:
        ok = float(value) > 0 and (allow_inf or math.isfinite(float(value)))
    if not ok:
        what = "a positive number of seconds" + (" (inf for no limit)" if allow_inf else "")
        raise InvalidArgumentError(f"{name} must be {what}; received {_describe(value)}")
    return float(value)


def check_load_arguments(
    num_threads: Any,
    isa: Any,
    strict: Any,
    timeout: Any,
    total_timeout: Any,
    max_bytes: Any,
    headers: Any,
) -> None:
    """Refuse load_model arguments of the wrong type or value (see the module docstring)."""
    check_num_threads(num_threads)
    if isa is not None and not isinstance(isa, str):
        raise InvalidArgumentError(
            f"isa must be a string such as 'avx2' (or None for the best); received {_describe(isa)}"
        )
    if not isinstance(strict, bool):
        raise InvalidArgumentError(f"strict must be True or False; received {_describe(strict)}")
    check_positive_seconds(timeout, "timeout")
    check_positive_seconds(total_timeout, "total_timeout", allow_inf=True)
    if not _is_int(max_bytes) or int(max_bytes) < 1:
        raise InvalidArgumentError(
            f"max_bytes must be a positive integer number of bytes; received {_describe(max_bytes)}"
        )
    if headers is not None and (
        not isinstance(headers, Mapping)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items())
    ):
        raise InvalidArgumentError(
            f"headers must be a dict of strings to strings; received {_describe(headers)}"
        )


__all__ = ["check_load_arguments", "check_num_threads", "check_positive_seconds"]
