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

It also gives the fast path (fast.py) its chance: uvicorn starts a POST's
task as soon as its headers are parsed; this protocol starts it once the
body is parsed too, or when the read ends (the task would not run before
that anyway), and when the whole body came in the same read it first asks
fast.py, which may answer in this callback (the protocol then writes the
bytes uvicorn's cycle would have written and completes the cycle as uvicorn
does). Anything fast.py declines starts uvicorn's task unchanged.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from .record import timing_header

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

    def is_closing(self) -> bool:
        """Whether the transport is closing (asked on every request: no __getattr__)."""
        return self._transport.is_closing()

    def close(self) -> None:
        """Close after writing what is held (uvicorn closes right after the body
        of a connection's last answer)."""
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def http_protocol() -> type[asyncio.Protocol] | str:
    """The protocol class for ``uvicorn.Config(http=...)``: httptools' with the
    arrival stamp and the answers given in the callback (fast.py), or "auto"
    where httptools is missing (the app then starts its clock when it is called)."""
    try:
        from uvicorn.protocols.http import httptools_impl
    except ImportError:
        return "auto"
    return _stamped_protocol(httptools_impl)


# An answer's head up to its Content-Length value, by status and content type:
# (the default headers it was built with, the bytes).
_HEADS: dict[tuple[int, bytes], tuple[list[tuple[bytes, bytes]], bytes]] = {}


def _head(status: int, content_type: bytes, defaults: list[tuple[bytes, bytes]]) -> bytes:
    """The status line, uvicorn's default headers (`defaults`: its Date header and
    the configured ones) and Content-Type, ending in ``content-length: ``. Built
    once per status and content type while uvicorn's default headers stay the
    same list (it makes a new one when the Date header's second changes)."""
    key = (status, content_type)
    known = _HEADS.get(key)
    if known is not None and known[0] is defaults:
        return known[1]
    lines = [_STATUS_LINES[status]]
    for name, value in [*defaults, (b"content-type", content_type)]:
        lines += (name, b": ", value, b"\r\n")
    head = b"".join(lines) + b"content-length: "
    _HEADS[key] = (defaults, head)  # a handful of keys: the fast path's statuses, 2 types
    return head


_STATUS_LINES: dict[int, bytes] = {}  # uvicorn's, set by _stamped_protocol


def _stamped_protocol(impl: Any) -> type[asyncio.Protocol]:
    """uvicorn's httptools protocol (module `impl`) with our additions."""
    _STATUS_LINES.update(impl.STATUS_LINE)

    class StampedHttpToolsProtocol(impl.HttpToolsProtocol):
        """httptools' protocol; each request's scope holds its arrival time and
        the connection's :class:`HeldWrites`; an inference request whose body
        is complete in one ``data_received`` may be answered there (fast.py)."""

        _received = 0.0
        _deferring = False  # inside on_headers_complete
        _deferred: tuple[Any, Any] | None = None  # (cycle, app) whose task waits for its body
        _fast: Any = None  # the app's FastAnswers (fast.py), if it has one

        def data_received(self, data: bytes) -> None:
            self._received = time.perf_counter()
            try:
                super().data_received(data)
            finally:
                deferred, self._deferred = self._deferred, None
                if deferred is not None:  # its body is still on the way: uvicorn's task
                    self._start_deferred(*deferred)

        def connection_made(self, transport: asyncio.Transport) -> None:
            super().connection_made(transport)
            # What uvicorn writes the answers through (its flow control keeps the transport).
            held: Any = HeldWrites(transport)
            self.transport = held
            self._fast = getattr(self.config.app, "fast_answers", None)

        def on_message_begin(self) -> None:
            # Called from data_received, as the request's first bytes are parsed.
            super().on_message_begin()
            scope: Any = self.scope
            scope[RECEIVED] = self._received
            scope[WRITES] = self.transport

        def on_headers_complete(self) -> None:
            self._deferring = self._fast is not None
            try:
                super().on_headers_complete()
            finally:
                self._deferring = False

        def _start_asgi_task(self, cycle: Any, app: Any) -> None:
            # From on_headers_complete: an inference request waits until its body is
            # parsed (later in this data_received) instead of starting its task now.
            # The task would not run before data_received returns anyway.
            if self._deferring and app is self.app and cycle.scope["method"] == "POST":
                self._deferred = (cycle, app)
                return
            super()._start_asgi_task(cycle, app)

        def on_message_complete(self) -> None:
            super().on_message_complete()
            deferred, self._deferred = self._deferred, None
            if deferred is not None and not self._answer_now(deferred[0]):
                self._start_deferred(*deferred)

        def _start_deferred(self, cycle: Any, app: Any) -> None:
            # The connection is closing: this request came in the same read after
            # one that closed it (Connection: close, HTTP/1.0; uvicorn would have
            # queued it behind that one, then dropped it with the connection), or
            # uvicorn refused what followed it as malformed. Nobody reads an answer.
            if not self.transport.is_closing():
                super()._start_asgi_task(cycle, app)

        def _answer_now(self, cycle: Any) -> bool:
            """Answer the request of `cycle` here if fast.py can; whether it did.

            A request that closes its connection (HTTP/1.0, ``Connection: close``)
            goes the ASGI way: where uvicorn writes ``connection: close``, and in
            which order, changed between its versions (0.53), and such a client
            pays a connection per request anyway."""
            if (
                cycle is not self.cycle
                or not cycle.keep_alive  # HTTP/1.0
                or not self.parser.should_keep_alive()  # Connection: close (uvicorn < 0.53
                # reads it only from the answer's headers)
                or cycle.waiting_for_100_continue
                or cycle.disconnected
                or self.flow.write_paused
                or self.transport.is_closing()
                or self.access_log  # uvicorn's own access log, which its cycle writes
            ):
                return False
            try:
                answered = self._fast.answer(cycle.scope, bytes(cycle.body))
                data = None if answered is None else self._response(answered, cycle)
            except Exception:  # a bug here must not lose the request: the app answers it
                self.logger.exception("the fast path failed; the request goes to the app")
                return False
            if answered is None or data is None:
                return False
            cycle.body = bytearray()
            cycle.response_started = True
            self.transport.write(data)
            # As uvicorn's cycle completes a response.
            cycle.response_complete = True
            self.on_response_complete()
            try:
                self._fast.finish(cycle.scope, answered)
            except Exception:
                self.logger.exception("recording an answer failed")
            return True

        def _response(self, answered: Any, cycle: Any) -> bytes:
            """The bytes uvicorn would write for the answer (see RequestResponseCycle.send):
            status line, default headers, the app's headers in order, then the body."""
            answer = answered.answer
            extra = b"".join(b"%s: %s\r\n" % header for header in answer.headers)
            name, value = timing_header(answered.info, answered.start)
            return b"%s%d\r\n%s%s: %s\r\n\r\n%s" % (
                _head(answer.status, answer.content_type, cycle.default_headers),
                len(answer.body),
                extra,
                name,
                value,
                answer.body,
            )

    return StampedHttpToolsProtocol
