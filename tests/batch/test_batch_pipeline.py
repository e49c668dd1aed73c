"""The CLI's read-ahead and write-behind threads: order kept, errors raised on the
caller's thread, readers closed when the caller stops early."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tfjs_infer.batch.files import Writer
from tfjs_infer.batch.pipeline import WriteBehind, read_ahead


def test_read_ahead_keeps_order_and_reads_on_another_thread() -> None:
    readers: set[int] = set()

    def chunks() -> Iterator[int]:
        for i in range(50):
            readers.add(threading.get_ident())
            yield i

    assert list(read_ahead(chunks())) == list(range(50))
    assert readers and threading.get_ident() not in readers


def test_read_ahead_raises_the_readers_error_after_the_chunks_before_it() -> None:
    def chunks() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("bad row group")

    got = []
    with pytest.raises(ValueError, match="bad row group"):
        for item in read_ahead(chunks()):
            got.append(item)
    assert got == [1, 2]


def test_read_ahead_closes_the_reader_when_the_caller_stops() -> None:
    closed = threading.Event()

    def chunks() -> Iterator[int]:
        try:
            yield from range(1000)
        finally:
            closed.set()

    with pytest.raises(RuntimeError, match="scoring failed"):
        for item in read_ahead(chunks()):
            if item == 3:
                raise RuntimeError("scoring failed")
    assert closed.wait(10)  # the thread ended and closed its generator


class ListWriter(Writer):
    def __init__(self, fail_at: int | None = None) -> None:
        self.written: list[Any] = []
        self.threads: set[int] = set()
        self.closed = False
        self.fail_at = fail_at

    def write(self, batch: Any) -> None:
        self.threads.add(threading.get_ident())
        if batch == self.fail_at:
            raise OSError("disk full")
        self.written.append(batch)

    def close(self) -> None:
        self.closed = True


def test_write_behind_writes_in_order_on_another_thread() -> None:
    inner = ListWriter()
    writer = WriteBehind(inner)
    for i in range(100):
        writer.write(i)
    writer.close()
    assert inner.written == list(range(100)) and inner.closed
    assert threading.get_ident() not in inner.threads


def test_write_behind_raises_a_write_error_once_and_still_closes() -> None:
    inner = ListWriter(fail_at=5)
    writer = WriteBehind(inner)
    with pytest.raises(OSError, match="disk full"):
        for i in range(100):
            writer.write(i)
        writer.close()
    writer.close()  # the caller's finally: quiet, the file closed
    assert inner.closed and inner.written == list(range(5))
