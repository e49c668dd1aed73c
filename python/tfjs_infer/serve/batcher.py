"""Request batching: concurrent requests for one model share one predict call.

As TF Serving's batching and Triton's dynamic batcher: a request waits in
its model's queue; a worker takes the oldest one and every queued request
after it whose inputs have the same row shapes, up to ``max_batch_size``
rows, waiting at most ``timeout_s`` for more to arrive, then runs one
``predict`` on the rows stacked together and hands each request its slice.
The core's results do not depend on batch composition (every row is
computed in the same order whatever its neighbours), so a batched answer is
bitwise the unbatched one.

Compute runs in a thread pool (the core releases the GIL), never on the
event loop. One worker per model by default: each predict call gets all the
core's threads, and while it runs the next batch gathers in the queue.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..errors import TfjsInferError
from ..model import Model
from .codec import RequestError

BatchKey = tuple[Any, ...]


class Overloaded(RequestError):
    """The model's queue is full: 503 with Retry-After, never unbounded memory."""

    def __init__(self, model: str, limit: int) -> None:
        super().__init__(
            503,
            f"model '{model}' is overloaded: {limit} requests are already waiting for it "
            "(the limit, --max-queue); retry later",
            {"Retry-After": "1"},
        )


@dataclass
class Result:
    """A request's outputs (in output order) and the compute time of its batch."""

    outputs: list[np.ndarray]
    compute_s: float
    batch_rows: int


@dataclass
class _Pending:
    arrays: list[np.ndarray]
    rows: int
    key: BatchKey
    future: asyncio.Future[Result] = field(repr=False)


class Batcher:
    """Queues requests for one model and runs them in merged predict calls."""

    def __init__(
        self,
        name: str,
        model: Model,
        output_names: Sequence[str],
        executor: Executor,
        *,
        max_batch_size: int = 64,
        timeout_s: float = 0.0,
        max_queue: int = 256,
        workers: int = 1,
        on_batch: Callable[[int, int], None] | None = None,
    ) -> None:
        self.name = name
        self.model = model
        self.output_names = list(output_names)
        self.executor = executor
        # Stateful models carry state from call to call: never merge their requests.
        self.max_batch_size = 1 if model.stateful else max(1, max_batch_size)
        self.timeout_s = max(0.0, timeout_s)
        self.max_queue = max(1, max_queue)
        self.workers = max(1, workers)
        self.on_batch = on_batch
        self._queue: collections.deque[_Pending] = collections.deque()
        self._arrived: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._admitted = 0  # requests accepted and not yet answered

    @property
    def depth(self) -> int:
        """Requests accepted and not yet answered (queued, gathering or computing)."""
        return self._admitted

    def start(self) -> None:
        """Start the worker tasks on the running event loop."""
        self._arrived = asyncio.Event()
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._work()) for _ in range(self.workers)]

    async def stop(self) -> None:
        """Stop the workers (after the server has finished its in-flight requests)."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for pending in self._queue:
            if not pending.future.done():
                pending.future.set_exception(RequestError(503, "the server is shutting down"))
        self._queue.clear()

    async def predict(self, arrays: list[np.ndarray]) -> Result:
        """Queue one request's validated inputs; resolve with its outputs.

        At most ``max_queue`` requests per model are accepted and unanswered
        at once (their bodies are what the server holds in memory); past
        that, :class:`Overloaded`.
        """
        if self._admitted >= self.max_queue:
            raise Overloaded(self.name, self.max_queue)
        key = tuple((a.shape[1:], a.dtype.str) for a in arrays)
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(arrays, int(arrays[0].shape[0]), key, future))
        assert self._arrived is not None, "Batcher.start() was not called"
        self._arrived.set()
        self._admitted += 1
        try:
            return await future
        finally:
            self._admitted -= 1

    async def _work(self) -> None:
        assert self._arrived is not None
        while True:
            while not self._queue:
                self._arrived.clear()
                await self._arrived.wait()
            batch = await self._gather()
            if batch:
                await self._run(batch)

    async def _gather(self) -> list[_Pending]:
        """Take the oldest live request and what may join it, waiting up to the timeout."""
        batch: list[_Pending] = []
        rows = 0
        deadline = time.perf_counter() + self.timeout_s
        while True:
            while self._queue:
                head = self._queue[0]
                if head.future.done():  # cancelled: timed out or the client left
                    self._queue.popleft()
                    continue
                if batch and (head.key != batch[0].key or rows + head.rows > self.max_batch_size):
                    return batch
                batch.append(self._queue.popleft())
                rows += head.rows
                if rows >= self.max_batch_size:
                    return batch
            left = deadline - time.perf_counter()
            if not batch or left <= 0:
                return batch
            assert self._arrived is not None
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), left)
            except asyncio.TimeoutError:
                return batch

    async def _run(self, batch: list[_Pending]) -> None:
        loop = asyncio.get_running_loop()
        if len(batch) == 1:
            stacked = batch[0].arrays
        else:
            stacked = [
                np.concatenate([p.arrays[i] for p in batch]) for i in range(len(batch[0].arrays))
            ]
        rows = sum(p.rows for p in batch)
        try:
            outs, seconds = await loop.run_in_executor(self.executor, self._compute, stacked)
        except TfjsInferError as exc:
            if len(batch) > 1:  # one bad request must not fail the others: run each alone
                for pending in batch:
                    await self._run([pending])
                return
            _fail(batch[0], RequestError(400, str(exc)))
            return
        except Exception as exc:
            for pending in batch:
                _fail(pending, RequestError(500, f"prediction failed: {exc}"))
            return
        if self.on_batch is not None:
            self.on_batch(rows, len(batch))
        start = 0
        for pending in batch:
            part = [o[start : start + pending.rows] for o in outs]
            start += pending.rows
            if not pending.future.done():
                pending.future.set_result(Result(part, seconds, rows))

    def _compute(self, arrays: list[np.ndarray]) -> tuple[list[np.ndarray], float]:
        """One predict call (in a pool thread): outputs in output order, and its time."""
        start = time.perf_counter()
        out = self.model.predict(arrays[0] if len(arrays) == 1 else arrays)
        seconds = time.perf_counter() - start
        if isinstance(out, dict):
            return [out[k] for k in self.output_names], seconds
        return (list(out) if isinstance(out, list) else [out]), seconds


def _fail(pending: _Pending, error: Exception) -> None:
    if not pending.future.done():
        pending.future.set_exception(error)
