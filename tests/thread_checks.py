"""Checks that an op split across threads gives one thread's bits, and that the
split really ran: the pool trace (``_core._testing.pool_trace``) records each
job and how many threads took part."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from tfjs_infer import _core


def traced_jobs(model: _core.CompiledModel, x: np.ndarray) -> tuple[np.ndarray, list[dict]]:
    """model's output on x, and the pool jobs the call ran on more than one thread."""
    _core._testing.pool_trace_take()
    _core._testing.pool_trace(True)
    try:
        y = model.run([x])[0]
    finally:
        _core._testing.pool_trace(False)
    return y, [j for j in _core._testing.pool_trace_take() if j["parts"] > 1]


def traced_run(model: _core.CompiledModel, x: np.ndarray) -> tuple[np.ndarray, bool]:
    """model's output on x, and whether the call started a pool job on more than one thread."""
    y, jobs = traced_jobs(model, x)
    return y, bool(jobs)


def assert_one_threads_bits(
    make: Callable[[int], _core.CompiledModel],
    x: np.ndarray,
    sizes: Sequence[int],
    what: str = "rows",
) -> None:
    """make(threads) at 2 and 3 threads gives make(1)'s bits on x[:size] for every
    size, and at least one of those calls ran on several threads."""
    one = make(1)
    several = False
    for threads in (2, 3):
        model = make(threads)
        for size in sizes:
            got, split = traced_run(model, x[:size])
            several |= split
            np.testing.assert_array_equal(
                got, one.run([x[:size]])[0], err_msg=f"{threads} threads, {what} {size}"
            )
    assert several, "no call ran on several threads: the split was not exercised"
