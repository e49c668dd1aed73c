"""The request time limit tells its own cancel from any other on every event
loop the server runs on, uvloop included (its timers run on a millisecond
clock and may fire a little before their due time)."""

from __future__ import annotations

import asyncio
import types
from collections.abc import Callable
from typing import Any

import pytest
import uvloop

from tfjs_infer.serve import hot
from tfjs_infer.serve.common import Limits

LOOPS: dict[str, Callable[[Any], Any]] = {"asyncio": asyncio.run, "uvloop": uvloop.run}


async def _never_answers(*_: Any) -> hot.Answer:
    await asyncio.sleep(60)
    raise AssertionError("the time limit did not stop the request")


def _server(seconds: float) -> Any:
    return types.SimpleNamespace(limits=Limits(request_timeout_s=seconds))


@pytest.mark.parametrize("loop", sorted(LOOPS))
def test_every_request_past_the_limit_answers_504(
    loop: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(hot._HANDLERS, "v1", _never_answers)

    async def many() -> list[int]:
        # Limits off the millisecond grid: uvloop fires some of these early.
        answers = [
            await hot.answer_inference(_server(0.0037), "v1", "m:predict", {}, None, {})  # type: ignore[arg-type]
            for _ in range(60)
        ]
        return [a.status for a in answers]

    statuses = LOOPS[loop](many())
    assert statuses == [504] * 60


@pytest.mark.parametrize("loop", sorted(LOOPS))
def test_a_cancel_that_is_not_the_limit_propagates(
    loop: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(hot._HANDLERS, "v1", _never_answers)

    async def cancelled_from_outside() -> None:
        request = asyncio.ensure_future(
            hot.answer_inference(_server(30.0), "v1", "m:predict", {}, None, {})  # type: ignore[arg-type]
        )
        await asyncio.sleep(0.01)
        request.cancel()  # as a shutdown does
        with pytest.raises(asyncio.CancelledError):
            await request

    LOOPS[loop](cancelled_from_outside())
