"""The fast path inside uvicorn's HTTP protocol, in-process with a recording
transport: an answer it gives is written before ``data_received`` returns
(no task, no loop turn); a failure inside it, or a transport paused for
writing, leaves the request to the ASGI app, which still answers it."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
import uvicorn
from uvicorn.server import ServerState

import tfjs_infer as ti
from conftest import digits_rows
from tfjs_infer.serve.app import build_app, make_server
from tfjs_infer.serve.common import Limits
from tfjs_infer.serve.fast import FastAnswers
from tfjs_infer.serve.protocol import http_protocol
from tfjs_infer.serve.repository import open_repository


class _Transport:
    """Records what is written; addresses as a TCP transport gives them."""

    def __init__(self) -> None:
        self.written = b""
        self.closed = False

    def write(self, data: bytes) -> None:
        self.written += data

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8501), "peername": ("127.0.0.1", 40000)}.get(
            name, default
        )

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def _request() -> bytes:
    body = json.dumps({"instances": digits_rows(1, seed=3).tolist()}).encode()
    head = f"POST /v1/models/digits:predict HTTP/1.1\r\nHost: t\r\nContent-Length: {len(body)}"
    return head.encode() + b"\r\n\r\n" + body


async def _connection() -> tuple[Any, _Transport, Any]:
    """A protocol on a recording transport, serving the digits model; and the server."""
    repository = open_repository(str(ti.examples.digits_path()), "digits")
    server = make_server(
        repository,
        max_batch_size=64,
        batch_timeout_us=0,
        max_queue=8,
        limits=Limits(),
        inline_us=10**6,  # every compute is quick: the fast path's choice is the request's
    )
    for batcher in server.batchers.values():
        batcher.start()
    app = build_app(server, max_batch_size=64)
    config = uvicorn.Config(
        app, http=http_protocol(), lifespan="off", log_level="warning", access_log=False
    )
    config.load()
    protocol = config.http_protocol_class(  # type: ignore[call-arg]
        config=config, server_state=ServerState(), app_state={}
    )
    transport = _Transport()
    protocol.connection_made(transport)
    return protocol, transport, server


async def _answered(transport: _Transport, count: int) -> None:
    for _ in range(400):
        if transport.written.count(b"HTTP/1.1 200 OK") >= count:
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"not answered: {transport.written[:300]!r}")


async def _warm(protocol: Any, transport: _Transport) -> None:
    """Route the path and time the model (through the app: both unknown yet)."""
    for n in (1, 2):
        protocol.data_received(_request())
        await _answered(transport, n)


def test_an_answer_is_written_within_data_received() -> None:
    async def main() -> None:
        protocol, transport, server = await _connection()
        await _warm(protocol, transport)
        before = server.metrics.fast_path.labels().value
        protocol.data_received(_request())  # no await: no loop turn, no task
        assert transport.written.count(b"HTTP/1.1 200 OK") == 3
        assert server.metrics.fast_path.labels().value == before + 1
        assert server.metrics.in_flight == 0

    asyncio.run(main())


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_a_failure_in_the_fast_path_leaves_the_request_to_the_app(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(self: FastAnswers, scope: Any, body: bytes) -> None:
        raise RuntimeError("a bug")

    records = _Records()

    async def main() -> None:
        protocol, transport, server = await _connection()
        await _warm(protocol, transport)
        protocol.logger.addHandler(records)
        monkeypatch.setattr(FastAnswers, "answer", broken)
        try:
            protocol.data_received(_request())
            assert transport.written.count(b"HTTP/1.1 200 OK") == 2  # not yet: the app's task
            await _answered(transport, 3)
        finally:
            protocol.logger.removeHandler(records)
        assert server.metrics.in_flight == 0

    asyncio.run(main())
    assert any("the fast path failed" in m for m in records.messages), records.messages


def test_a_transport_paused_for_writing_leaves_the_request_to_the_app() -> None:
    async def main() -> None:
        protocol, transport, server = await _connection()
        await _warm(protocol, transport)
        before = server.metrics.fast_path.labels().value
        protocol.pause_writing()  # the client stopped reading
        protocol.data_received(_request())
        await asyncio.sleep(0.05)
        assert transport.written.count(b"HTTP/1.1 200 OK") == 2  # the app waits to write
        protocol.resume_writing()
        await _answered(transport, 3)
        assert server.metrics.fast_path.labels().value == before

    asyncio.run(main())


def test_the_answer_head_follows_uvicorns_default_headers() -> None:
    """The head built once per status and content type is rebuilt when uvicorn
    replaces its default headers (its Date header, every second)."""

    async def main() -> list[bytes]:
        protocol, transport, _ = await _connection()
        await _warm(protocol, transport)
        heads = []
        for date in (b"Sun, 06 Dec 2026 20:00:00 GMT", b"Sun, 06 Dec 2026 20:00:01 GMT"):
            protocol.server_state.default_headers = [(b"date", date), (b"x-served-by", b"t")]
            transport.written = b""
            protocol.data_received(_request())  # answered in the callback
            heads.append(transport.written.split(b"\r\n\r\n", 1)[0])
        return heads

    first, second = asyncio.run(main())
    for head, second_ in ((first, b"00"), (second, b"01")):
        lines = head.split(b"\r\n")
        assert lines[:3] == [
            b"HTTP/1.1 200 OK",
            b"date: Sun, 06 Dec 2026 20:00:" + second_ + b" GMT",
            b"x-served-by: t",
        ]
        assert lines[3] == b"content-type: application/json"
        assert lines[4].startswith(b"content-length: ") and lines[5].startswith(b"server-timing: ")
