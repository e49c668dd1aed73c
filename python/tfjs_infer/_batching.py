"""predict's automatic batch size: rows per core call from a memory budget.

Results never depend on how rows are grouped into calls (the core computes
each row bitwise alike in any batch), so the batch size only trades memory
for speed. One call's memory is the core's planned workspace (activations and
scratch) plus the call's outputs. ``predict(x)`` without ``batch_size`` takes
the fewest of:

- the rows of `x`;
- the most rows whose call memory fits the memory budget: ``memory_budget=``,
  else the environment variable ``TFJS_INFER_MEMORY_BUDGET`` (read when the
  model is loaded), else :data:`DEFAULT_MEMORY_BUDGET` (a hard limit);
- the most rows whose call memory fits :data:`CACHE_BYTES`, but no fewer than
  :data:`MIN_ROWS` (the old default of 32).

The last rule is measured, not assumed: per row, small dense models and
LSTMs run 5-25 % faster in calls that stay within a few MiB (the data stays
in the cores' caches) than in calls of tens of MiB or more, while
convolutional models run ~10-15 % faster at 32 images per call than at 1-8
and no faster past 64 (bench/bench_batch_size.py).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from typing import Any

from .errors import InputValueError, TfjsInferError

MEMORY_BUDGET_ENV = "TFJS_INFER_MEMORY_BUDGET"
DEFAULT_MEMORY_BUDGET = 256 << 20
CACHE_BYTES = 4 << 20
MIN_ROWS = 32
# Rows per call are searched up to this (a bound for the doubling search;
# no input of more rows fits in memory anyway).
MAX_ROWS = 1 << 31
# With a progress bar, calls of at most 1/_PROGRESS_STEPS of the input (but
# not below _PROGRESS_MIN_ROWS rows) so the bar moves.
_PROGRESS_STEPS = 100
_PROGRESS_MIN_ROWS = 256

_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_BUDGET_TEXT = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)


def parse_memory_budget(value: Any, what: str = "memory_budget") -> int:
    """Bytes from a budget: a positive int, or a string such as ``"256M"``,
    ``"1.5GiB"`` or ``"4096"`` (K, M, G, T are powers of 1024; a trailing
    ``B``/``iB`` is optional).

    Raises
    ------
    InputValueError
        `value` is not a positive size; the message names `what`.
    """
    expected = "a positive number of bytes (an int, or text such as '256M' or '1G')"
    if isinstance(value, bool) or not (isinstance(value, str) or _is_int(value)):
        raise InputValueError(f"{what} must be {expected}, received {value!r}")
    if isinstance(value, str):
        match = _BUDGET_TEXT.match(value)
        if not match:
            raise InputValueError(f"{what} must be {expected}, received {value!r}")
        number, unit = match.groups()
        nbytes = int(float(number) * _UNITS[unit.lower()])
    else:
        nbytes = int(value)
    if nbytes < 1:
        raise InputValueError(f"{what} must be {expected}, received {value!r}")
    return nbytes


def _is_int(value: Any) -> bool:
    """numpy integers and the like (anything with __index__)."""
    try:
        value.__index__()
    except (AttributeError, TypeError):
        return False
    return True


def budget_from_env() -> int:
    """The budget set by ``TFJS_INFER_MEMORY_BUDGET``, else the default."""
    raw = os.environ.get(MEMORY_BUDGET_ENV)
    if raw is None or not raw.strip():
        return DEFAULT_MEMORY_BUDGET
    return parse_memory_budget(raw, f"the environment variable {MEMORY_BUDGET_ENV}")


def rows_per_call(need: Callable[[int], int], budget: int) -> int:
    """predict's default rows per call (before capping by the input's rows),
    given the bytes one call of so many rows `need`s and the memory budget."""
    fast = max(MIN_ROWS, rows_within_budget(need, CACHE_BYTES))
    return min(rows_within_budget(need, budget), fast)


def rows_within_budget(need: Callable[[int], int], budget: int) -> int:
    """The most rows whose `need` (bytes, nondecreasing in rows) fits `budget`;
    1 when even one row does not fit (a call cannot take less)."""
    if _need_or_over(need, 1, budget) > budget:
        return 1
    low = 1  # fits
    while low < MAX_ROWS and _need_or_over(need, min(2 * low, MAX_ROWS), budget) <= budget:
        low = min(2 * low, MAX_ROWS)
    if low == MAX_ROWS:
        return low
    high = 2 * low  # does not fit
    while high - low > 1:
        mid = (low + high) // 2
        if _need_or_over(need, mid, budget) <= budget:
            low = mid
        else:
            high = mid
    return low


def _need_or_over(need: Callable[[int], int], rows: int, budget: int) -> int:
    """need(rows), or more than the budget where the core refuses the size
    (element counts past its overflow checks)."""
    try:
        return need(rows)
    except TfjsInferError:
        return budget + 1


def progress_rows(rows: int, n: int) -> int:
    """Rows per call when a progress bar is shown: small enough for the bar
    to move, large enough to keep calls efficient."""
    return max(1, min(rows, max(_PROGRESS_MIN_ROWS, math.ceil(n / _PROGRESS_STEPS))))


def split_calls(n: int, rows: int) -> tuple[int, list[int]]:
    """Rows per call (at most `rows`) and the start row of each call covering
    ``range(n)`` in the fewest calls of one size: the last call ends at n and
    overlaps the one before it by fewer rows than there are calls, so every
    call has the same shape (one plan, one workspace) and little is computed
    twice."""
    if n <= rows:
        return n, [0]
    size = math.ceil(n / math.ceil(n / rows))
    starts = list(range(0, n - size, size))
    starts.append(n - size)
    return size, starts
