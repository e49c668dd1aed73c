"""Overlap reading, scoring and writing of a table file's chunks.

Decoding a parquet chunk and encoding the output run mostly on one core
each (pyarrow releases the GIL), while the model uses every core it was
given; run one after another, the other cores idle during each I/O step.
``read_ahead`` decodes the next chunk on a thread while the current one is
scored, and ``WriteBehind`` encodes the previous output while the next is
scored. Each holds at most one chunk, so two input chunks and two output
chunks are in flight at most; the caller sizes chunks for that. Order is
kept: one reader thread, one writer thread, FIFO queues.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterator
from typing import Any

from .files import Writer

_DONE = object()  # end of the chunks


class _Failure:
    """An exception raised on a worker thread, re-raised on the caller's."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


def read_ahead(chunks: Iterator[Any]) -> Generator[Any, None, None]:
    """The items of `chunks`, the next one produced on a thread while the
    caller works on the current one. Exceptions reach the caller in order."""
    handoff: queue.Queue[Any] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in chunks:
                if not _put(handoff, item, stop):
                    return
            _put(handoff, _DONE, stop)
        except BaseException as exc:  # handed to the caller's thread
            _put(handoff, _Failure(exc), stop)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()  # a generator's files close on the thread that read them

    thread = threading.Thread(target=produce, name="tfjs-infer-read", daemon=True)
    thread.start()
    try:
        while True:
            item = handoff.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item
    finally:
        stop.set()  # the caller stopped early or failed: let the reader end
        _drain(handoff)
        thread.join()


class WriteBehind(Writer):
    """A writer whose ``write`` returns at once; a thread writes in order.

    An error on the thread is raised by the next ``write`` or by ``close``.
    """

    def __init__(self, writer: Writer) -> None:
        self.writer = writer
        self.pending: queue.Queue[Any] = queue.Queue(maxsize=1)
        self.error: BaseException | None = None  # the first failed write's
        self.reported = False
        self.thread = threading.Thread(target=self._drain, name="tfjs-infer-write", daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        while True:
            batch = self.pending.get()
            if batch is _DONE:
                return
            if self.error is None:
                try:
                    self.writer.write(batch)
                except BaseException as exc:  # re-raised on the caller's thread
                    self.error = exc

    def write(self, batch: Any) -> None:
        self._raise()
        self.pending.put(batch)

    def close(self) -> None:
        """Wait for the queued chunks, close the file, raise a write error."""
        self.pending.put(_DONE)
        self.thread.join()
        self.writer.close()
        self._raise()

    def _raise(self) -> None:
        if self.error is not None and not self.reported:
            self.reported = True  # once: close() after a failed write() stays quiet
            raise self.error


def _put(handoff: queue.Queue[Any], item: Any, stop: threading.Event) -> bool:
    """Put `item`, giving up when `stop` is set (the consumer left); whether put."""
    while not stop.is_set():
        try:
            handoff.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def _drain(handoff: queue.Queue[Any]) -> None:
    while True:
        try:
            handoff.get_nowait()
        except queue.Empty:
            return
