"""Request batching: concurrent requests for one model share one predict call.

As TF Serving's batching and Triton's dynamic batcher: a request waits in
its model's queue; a worker takes the oldest one and every queued request
after it whose inputs have the same row shapes, up to ``max_batch_size``
rows, waiting at most ``timeout_s`` for more to arrive, then runs one
``predict`` on the rows stacked together and hands each request its slice.
The core's results do not depend on batch composition (every row is
computed in the same order whatever its neighbours), so a batched answer is
bitwise the unbatched one.

Without a timeout, a batch starts as soon as a worker is free, except
while requests for the model are still being received (their headers are
in, their bodies on the way): it waits for those, at most half the last
batch's compute time. Under load this keeps batches full (the clients
answered by one batch send their next requests together) at a cost bounded
by the compute; a lone request never waits.

Compute runs in a thread pool (the core releases the GIL), off the event
loop, with one exception: a batch whose predict call is expected to take
less than ``inline_s`` (measured on the model's last batch) runs on the
event loop itself. Handing a batch to a pool thread and back costs two
thread wake-ups and two GIL hand-overs, 50-250 us on a shared machine, which
is far more than a small model's whole call (the bundled digits model: a few
microseconds); run inline, such a call holds the loop for less time than
the hand-off would have taken. The decision is taken one loop turn after
the batch could start, so that every request received in that turn joins
it (batching still merges concurrent requests). One pool worker per model
by default: each predict call gets all the core's threads, and while it runs
the next batch gathers in the queue.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..errors import TfjsInferError
from ..model import Model
from .codec import RequestError

BatchKey = tuple[Any, ...]
_Computed = tuple[list[np.ndarray], float, float, float]


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
    # Thread hand-offs: submit -> the pool thread running, and predict done -> the loop.
    handoff_s: float = 0.0


@dataclass
class _Pending:
    arrays: list[np.ndarray]
    rows: int
    key: BatchKey
    future: asyncio.Future[Result] = field(repr=False)
    alone: bool = False  # rerun by itself after its merged batch failed


class Ticket:
    """A request for the model whose body is still being received (see Batcher.expect)."""

    def __init__(self, batcher: Batcher) -> None:
        self.batcher: Batcher | None = batcher
        batcher._incoming += 1

    def release(self) -> None:
        """The request is queued or abandoned: batches stop waiting for it."""
        batcher, self.batcher = self.batcher, None
        if batcher is not None:
            batcher._incoming -= 1
            if batcher._incoming == 0:
                batcher._dispatch()


class Batcher:
    """Queues requests for one model and runs them in merged predict calls.

    Callback-driven on the event loop: a request that finds a worker free
    starts a batch at once (or a timer, with a batch timeout); a finished
    batch hands out its slices and starts the next one. No task per worker,
    so a request costs few event-loop turns.
    """

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
        inline_s: float = 0.0,
        on_batch: Callable[[int, int, float], None] | None = None,
        alone: Callable[[], bool] | None = None,
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
        self.inline_s = max(0.0, inline_s)
        self.on_batch = on_batch
        # True when the server holds no request but the one being queued: an
        # inline batch then starts at once instead of a loop turn later.
        self._alone = alone
        self._queue: collections.deque[_Pending] = collections.deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._running = 0  # batches computing
        self._incoming = 0  # requests being received (Ticket)
        self._last_compute_s = 0.0
        self._last_rows = 0  # rows of that batch (0: none measured yet)
        self._soon: asyncio.Handle | None = None  # a batch start deferred by one loop turn
        self._admitted = 0  # requests accepted and not yet answered

    @property
    def depth(self) -> int:
        """Requests accepted and not yet answered (queued, gathering or computing)."""
        return self._admitted

    def start(self) -> None:
        """Bind to the running event loop (the server's lifespan start)."""
        self._loop = asyncio.get_running_loop()

    async def stop(self) -> None:
        """Refuse what is still queued (the server has answered its in-flight requests)."""
        for handle in (self._timer, self._soon):
            if handle is not None:
                handle.cancel()
        self._timer = self._soon = None
        for pending in self._queue:
            _fail(pending, RequestError(503, "the server is shutting down"))
        self._queue.clear()

    def expect(self) -> Ticket:
        """Note a request whose body is being received; release it when queued or dropped."""
        return Ticket(self)

    def predict_now(self, arrays: list[np.ndarray], ticket: Ticket | None = None) -> Result | None:
        """The request's outputs computed at once on the event loop, when it is
        alone and quick (see :meth:`_now_or_never`); else None: :meth:`predict`
        queues it. Saves a lone request the queue's work and a coroutine."""
        rows = int(arrays[0].shape[0])
        if self._admitted >= self.max_queue or not self._now_or_never(rows, ticket):
            return None
        if ticket is not None:
            ticket.release()  # nothing is queued: it starts no batch
        return self._compute_now(arrays, rows)

    def answers_now(self) -> bool:
        """Whether a one-row request arriving now, whole, would compute at once
        (:meth:`predict_now`). Read before its body is parsed: fast.py answers
        such a request inside the HTTP protocol's callback. :meth:`_now_or_never`
        for one row, written out: it is asked for every request."""
        return (
            self._admitted < self.max_queue
            and not self._queue
            and not self._running
            and not self._incoming
            and self._soon is None
            and self._timer is None
            and (not self.timeout_s or self.max_batch_size <= 1)
            and self._last_rows > 0  # a batch of one row: the last one's time at most
            and self._last_compute_s <= self.inline_s
            and self._alone is not None
            and self._alone()
        )

    def predict_answering_now(self, arrays: list[np.ndarray]) -> Result | None:
        """:meth:`predict_now` for a request :meth:`answers_now` accepted in the
        same callback (nothing has run on the loop since, so only what depends
        on its row count can have changed): its outputs, or None when its rows
        would not make a quick batch."""
        rows = arrays[0].shape[0]
        if rows > 1 and not self._now_or_never(rows, None):
            return None
        return self._compute_now(arrays, rows, report=False)

    def report(self, rows: int, seconds: float) -> None:
        """Count a one-request batch of :meth:`predict_answering_now` in the
        metrics hook, once its answer is written (bookkeeping after the answer)."""
        if self.on_batch is not None:
            self.on_batch(rows, 1, seconds)

    async def predict(self, arrays: list[np.ndarray], ticket: Ticket | None = None) -> Result:
        """Queue one request's validated inputs; resolve with its outputs.

        At most ``max_queue`` requests per model are accepted and unanswered
        at once (their bodies are what the server holds in memory); past
        that, :class:`Overloaded`.
        """
        now = self.predict_now(arrays, ticket)
        if now is not None:
            return now
        if self._admitted >= self.max_queue:
            raise Overloaded(self.name, self.max_queue)
        rows = int(arrays[0].shape[0])
        assert self._loop is not None, "Batcher.start() was not called"
        key = tuple((a.shape[1:], a.dtype.str) for a in arrays)
        future: asyncio.Future[Result] = self._loop.create_future()
        self._queue.append(_Pending(arrays, rows, key, future))
        self._admitted += 1
        try:
            if ticket is not None and ticket.batcher is not None:
                ticket.release()  # dispatches when it was the last one incoming
                if self._incoming:
                    self._dispatch()
            else:
                self._dispatch()
            return await future
        finally:
            self._admitted -= 1

    def _now_or_never(self, rows: int, ticket: Ticket | None) -> bool:
        """Whether a request of `rows` rows computes at once, without queueing:
        the server holds no other request, this model has nothing queued,
        computing or arriving, its batch would not wait for company (no batch
        timeout, or `rows` fill a batch), and it is expected to be quick (the
        same batch the queue would start inline, minus the queue's work)."""
        mine = 1 if ticket is not None and ticket.batcher is self else 0
        return (
            not self._queue
            and not self._running
            and self._incoming == mine
            and self._soon is None
            and self._timer is None
            and (not self.timeout_s or rows >= self.max_batch_size)
            and self._alone is not None
            and self._alone()
            and self._expected_s(rows) <= self.inline_s
        )

    def _compute_now(self, arrays: list[np.ndarray], rows: int, report: bool = True) -> Result:
        """One request's own batch, computed on the event loop (counted in the
        metrics hook unless `report` is false: see :meth:`report`)."""
        self._running += 1
        try:
            start = time.perf_counter()
            out = self.model.predict(arrays[0] if len(arrays) == 1 else arrays)
            seconds = time.perf_counter() - start
            outs = self._in_output_order(out)
        except Exception as exc:
            raise _request_error(exc) from None
        finally:
            self._running -= 1
        self._last_compute_s = seconds
        self._last_rows = rows
        if report and self.on_batch is not None:
            self.on_batch(rows, 1, seconds)
        return Result(outs, seconds, rows)

    def _dispatch(self, timer_fired: bool = False) -> None:
        """Start batches while workers are free and requests wait."""
        while self._running < self.workers and self._soon is None:
            while self._queue and self._queue[0].future.done():
                self._queue.popleft()  # cancelled: timed out or the client left
            if not self._queue:
                return
            wait = self.timeout_s or (self._last_compute_s / 2 if self._incoming else 0.0)
            if wait > 0 and not timer_fired and not self._full_batch_waiting():
                if self._timer is None:
                    assert self._loop is not None
                    self._timer = self._loop.call_later(wait, self._on_timer)
                return
            timer_fired = False
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if self._running == 0 and self._expected_s(self._queue[0].rows) <= self.inline_s:
                if self._lone_request():
                    # Nothing else to merge with: compute now (two loop turns fewer).
                    self._start_soon()
                    return
                # Perhaps inline: decide next turn, once this turn's requests have queued.
                assert self._loop is not None
                self._soon = self._loop.call_soon(self._start_soon)
                return
            self._launch(self._take())

    def _lone_request(self) -> bool:
        """Only one request is queued, none is arriving here, and the server says
        it holds no other."""
        return (
            self._alone is not None
            and len(self._queue) == 1
            and not self._incoming
            and self._alone()
        )

    def _expected_s(self, rows: int) -> float:
        """A batch of `rows` rows' predict time, from the last batch (inf if none yet)."""
        if not self._last_rows:
            return float("inf")
        return self._last_compute_s * max(1.0, rows / self._last_rows)

    def _start_soon(self) -> None:
        """The deferred start: the batch runs inline if it is expected to be quick."""
        self._soon = None
        while self._queue and self._queue[0].future.done():
            self._queue.popleft()
        if not self._queue or self._running:
            self._dispatch()
            return
        batch = self._take()
        if self._expected_s(sum(p.rows for p in batch)) > self.inline_s:
            self._launch(batch)
            self._dispatch()
            return
        self._running += 1
        try:
            outs, seconds, _, _ = self._compute([p.arrays for p in batch])
        except Exception as exc:
            self._failed(batch, exc)
        else:
            self._answer(batch, outs, seconds, 0.0)

    def _on_timer(self) -> None:
        self._timer = None
        self._dispatch(timer_fired=True)

    def _full_batch_waiting(self) -> bool:
        rows = 0
        key = self._queue[0].key
        for pending in self._queue:
            if pending.alone or pending.key != key:
                return True  # the head's batch cannot grow past this one
            rows += pending.rows
            if rows >= self.max_batch_size:
                return True
        return False

    def _take(self) -> list[_Pending]:
        """The head request and the live ones after it that may join its batch."""
        batch = [self._queue.popleft()]
        rows = batch[0].rows
        while self._queue and not batch[0].alone and rows < self.max_batch_size:
            head = self._queue[0]
            if head.future.done():
                self._queue.popleft()
                continue
            if head.alone or head.key != batch[0].key or rows + head.rows > self.max_batch_size:
                break
            batch.append(self._queue.popleft())
            rows += head.rows
        return batch

    def _launch(self, batch: list[_Pending]) -> None:
        loop = self._loop
        assert loop is not None
        self._running += 1
        submitted = time.perf_counter()
        work = self.executor.submit(self._compute, [p.arrays for p in batch])

        def done(_: Any) -> None:  # in the pool thread
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits
                loop.call_soon_threadsafe(self._finish, batch, work, submitted)

        work.add_done_callback(done)

    def _finish(self, batch: list[_Pending], work: Future[_Computed], submitted: float) -> None:
        """A pool batch is done (on the event loop)."""
        try:
            outs, seconds, woke, ended = work.result()
        except Exception as exc:
            self._failed(batch, exc)
        else:
            handoff = (woke - submitted) + (time.perf_counter() - ended)
            self._answer(batch, outs, seconds, handoff)

    def _failed(self, batch: list[_Pending], exc: Exception) -> None:
        self._running -= 1
        if isinstance(exc, TfjsInferError):
            if len(batch) > 1:  # one bad request must not fail the others: rerun each alone
                for pending in reversed(batch):
                    pending.alone = True
                    self._queue.appendleft(pending)
            else:
                _fail(batch[0], _request_error(exc))
        else:
            for pending in batch:
                _fail(pending, _request_error(exc))
        self._dispatch()

    def _answer(
        self, batch: list[_Pending], outs: list[np.ndarray], seconds: float, handoff: float
    ) -> None:
        """Hand each request of the batch its rows of the outputs."""
        self._running -= 1
        rows = sum(p.rows for p in batch)
        self._last_compute_s = seconds
        self._last_rows = rows
        if self.on_batch is not None:
            self.on_batch(rows, len(batch), seconds)
        start = 0
        for pending in batch:
            part = [o[start : start + pending.rows] for o in outs]
            start += pending.rows
            if not pending.future.done():
                pending.future.set_result(Result(part, seconds, rows, handoff))
        self._dispatch()

    def _compute(self, parts: list[list[np.ndarray]]) -> _Computed:
        """Stack the requests' rows and run one predict call (in a pool thread):
        the outputs in output order, the call's seconds, when this thread woke
        and when it finished."""
        woke = time.perf_counter()
        if len(parts) == 1:
            arrays = parts[0]
        else:
            arrays = [np.concatenate([p[i] for p in parts]) for i in range(len(parts[0]))]
        start = time.perf_counter()
        out = self.model.predict(arrays[0] if len(arrays) == 1 else arrays)
        ended = time.perf_counter()
        return self._in_output_order(out), ended - start, woke, time.perf_counter()

    def _in_output_order(self, out: Any) -> list[np.ndarray]:
        """predict's result (an array, a list, or a dict by output name) as a list."""
        if type(out) is np.ndarray:
            return [out]
        if isinstance(out, dict):
            return [out[k] for k in self.output_names]
        return list(out) if isinstance(out, list) else [out]


def _request_error(exc: Exception) -> RequestError:
    """A failed predict call as an answer: the core refusing the inputs is the
    request's fault (400), anything else the server's (500)."""
    if isinstance(exc, TfjsInferError):
        return RequestError(400, str(exc))
    return RequestError(500, f"prediction failed: {exc}")


def _fail(pending: _Pending, error: Exception) -> None:
    if not pending.future.done():
        pending.future.set_exception(error)
