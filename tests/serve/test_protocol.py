"""The server's own time starts when a request's bytes reach the server: the
HTTP protocol stamps their arrival into the scope, before uvicorn parses
them and starts the app's task (test_asgi.py: Server-Timing counts from it)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import uvicorn
from uvicorn.server import ServerState

from tfjs_infer.serve.protocol import RECEIVED, HeldWrites, http_protocol


def test_the_arrival_of_the_request_bytes_is_in_the_scope() -> None:
    seen: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen["called"] = time.perf_counter()
        seen["received"] = scope.get(RECEIVED)
        await receive()
        headers = [(b"content-length", b"2")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"ok"})

    async def main() -> bytes:
        config = uvicorn.Config(app, http=http_protocol(), lifespan="off", log_level="warning")
        config.load()
        state = ServerState()
        protocol = config.http_protocol_class
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: protocol(config=config, server_state=state, app_state={}), "127.0.0.1", 0
        )
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        seen["sent"] = time.perf_counter()
        writer.write(b"POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n{}")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        answer = head + await asyncio.wait_for(reader.readexactly(2), 10)
        writer.close()
        server.close()
        await server.wait_closed()
        return answer

    answer = asyncio.run(main())
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"ok")
    assert seen["sent"] <= seen["received"] <= seen["called"]


class _Transport:
    """Records what is written to it."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


def test_held_writes_go_out_as_one() -> None:
    transport = _Transport()
    writes = HeldWrites(transport)  # type: ignore[arg-type]
    writes.write(b"100 Continue")  # not holding: straight through
    writes.hold()
    writes.write(b"HTTP/1.1 200 OK\r\n\r\n")
    writes.write(b"body")
    assert transport.writes == [b"100 Continue"]
    writes.flush()
    assert transport.writes == [b"100 Continue", b"HTTP/1.1 200 OK\r\n\r\nbody"]
    writes.hold()
    writes.write(b"last answer")
    assert not writes.is_closing()
    writes.close()  # uvicorn closes a connection right after its last answer's body
    assert transport.writes[-1] == b"last answer" and transport.closed and writes.is_closing()
