"""uvicorn's HTTP protocol, noting when each request's bytes arrived and
writing each answer in one piece.

The server's own time per request is meant from the request received to the
answer given. The ASGI app is only called after uvicorn has parsed the
request, built its scope and started a task for it one event-loop turn
later; starting the clock there would leave that work out. This protocol
(uvicorn's httptools one) reads the clock as the socket's bytes reach it and
puts the reading of a request's first bytes in its scope, where the app
starts its clock (app.py). The app also asks it to write an answer's
head and body together (:class:`HeldWrites`).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

# The scope key holding time.perf_counter() when the request's first bytes arrived.
RECEIVED = "tfjs_infer.received"
# The scope key holding the connection's HeldWrites (see there).
WRITES = "tfjs_infer.writes"


class HeldWrites:
    """A connection's transport that can hold an answer's writes and send them
    in one: uvicorn writes the status line and headers, then the body, each
    a system call (and a TCP segment, a wake-up of the client); held, the
    two go out together. Everything else goes to the transport."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._held: list[bytes] | None = None

    def hold(self) -> None:
        """Keep what is written until :meth:`flush`."""
        if self._held is None:
            self._held = []

    def flush(self) -> None:
        """Write what was held, in one write, and stop holding."""
        held, self._held = self._held, None
        if held:
            self._transport.write(b"".join(held))

    def write(self, data: bytes) -> None:
        """Write `data`, or keep it while holding."""
        if self._held is None:
            self._transport.write(data)
        else:
            self._held.append(data)

    def close(self) -> None:
        """Close after writing what is held (uvicorn closes right after the body
        of a connection's last answer)."""
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def http_protocol() -> type[asyncio.Protocol] | str:
    """The protocol class for ``uvicorn.Config(http=...)``: httptools' with the
    arrival stamp, or "auto" where httptools is missing (the app then starts
    its clock when it is called)."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:
        return "auto"

    class StampedHttpToolsProtocol(HttpToolsProtocol):
        """httptools' protocol; each request's scope holds its arrival time and
        the connection's :class:`HeldWrites`."""

        _received = 0.0

        def data_received(self, data: bytes) -> None:
            self._received = time.perf_counter()
            super().data_received(data)

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            # What uvicorn writes the answers through (its flow control keeps the transport).
            held: Any = HeldWrites(transport)
            self.transport = held

        def on_message_begin(self) -> None:
            # Called from data_received, as the request's first bytes are parsed.
            super().on_message_begin()
            scope: Any = self.scope
            scope[RECEIVED] = self._received
            scope[WRITES] = self.transport

    return StampedHttpToolsProtocol
