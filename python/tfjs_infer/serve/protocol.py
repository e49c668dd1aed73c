"""uvicorn's HTTP protocol, noting when each request's bytes arrived.

The server's own time per request is meant from the request received to the
answer given. The ASGI app is only called after uvicorn has parsed the
request, built its scope and started a task for it one event-loop turn
later; starting the clock there would leave that work out. This protocol
(uvicorn's httptools one) reads the clock as the socket's bytes reach it and
puts the reading of a request's first bytes in its scope, where the app
starts its clock (app.py).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

# The scope key holding time.perf_counter() when the request's first bytes arrived.
RECEIVED = "tfjs_infer.received"


def http_protocol() -> type[asyncio.Protocol] | str:
    """The protocol class for ``uvicorn.Config(http=...)``: httptools' with the
    arrival stamp, or "auto" where httptools is missing (the app then starts
    its clock when it is called)."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:
        return "auto"

    class StampedHttpToolsProtocol(HttpToolsProtocol):  # type: ignore[misc]
        """httptools' protocol; each request's scope holds its arrival time."""

        _received = 0.0

        def data_received(self, data: bytes) -> None:
            self._received = time.perf_counter()
            super().data_received(data)

        def on_message_begin(self) -> None:
            # Called from data_received, as the request's first bytes are parsed.
            super().on_message_begin()
            scope: Any = self.scope
            scope[RECEIVED] = self._received

    return StampedHttpToolsProtocol
