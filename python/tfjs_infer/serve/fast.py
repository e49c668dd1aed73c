"""Inference answered inside uvicorn's HTTP protocol, with no task and no ASGI messages.

Why: at one client on a small model, most of the server's own time per
request was uvicorn's and asyncio's machinery, not ours (stamped per stage:
README, "Serving over HTTP"). For every request uvicorn builds a
request/response cycle and starts a task, which runs a loop turn later; the
app awaits the body through ``receive()`` (an event and a message dict),
arms a timer for the request time limit, and sends the answer as two ASGI
messages that uvicorn turns into bytes, checking every header against
regular expressions.

What: when a request's whole body is parsed in the same callback as its
headers (one ``data_received``), protocol.py asks :meth:`FastAnswers.answer`
before starting uvicorn's task. It answers only an inference request
(``POST /v1/models/...:predict``, ``POST /v2/models/.../infer``) for a path
that has been routed before (so unknown models and versions go the ASGI
way), without Content-Encoding or proxy headers, whose model's batcher
would compute it at once on the event loop (nothing else in flight, a quick
model: :meth:`Batcher.answers_now`). It then parses, predicts, encodes and
records exactly as hot.py does, errors included; the protocol writes the
same bytes uvicorn would. Anything else, and a request for which this
returns None, goes through uvicorn's task and the ASGI app unchanged.
Nothing waits here, so the request time limit, client disconnects and
shutdown concern only the ASGI path: an answer given here is written before
the callback returns.
"""

from __future__ import annotations

import time
from typing import Any, NamedTuple

from . import tfserving, v2
from .accesslog import AccessLog
from .codec import RequestError
from .common import Server
from .hot import (
    ENCODING,
    HEADER_LENGTH,
    LENGTH,
    V1_PREFIX,
    V2_PREFIX,
    Answer,
    check_declared_length,
    error_answer,
    hot_protocol,
    internal_answer,
    v2_answer,
)
from .metrics import Count
from .protocol import RECEIVED
from .record import record
from .repository import ServedModel

# Headers that make a request go the ASGI way: a body to inflate, or proxy
# headers (uvicorn's ProxyHeadersMiddleware rewrites the client from them).
_ASGI_ONLY = frozenset((ENCODING, b"x-forwarded-for", b"x-forwarded-proto"))
_READ = frozenset((LENGTH, HEADER_LENGTH))


class Answered(NamedTuple):
    """An answer given here: what to write, and what to record once it is written."""

    answer: Answer
    info: dict[str, Any]
    start: float  # when the request's first bytes arrived (perf_counter)


class FastAnswers:
    """Answers inference requests inside the HTTP protocol's callback (see the module)."""

    def __init__(self, server: Server, access_log: AccessLog | None, counter: Count) -> None:
        self.server = server
        self.metrics = server.metrics
        self.access_log = access_log
        self.counter = counter  # requests answered here (a /metrics series)

    def answer(self, scope: Any, body: bytes) -> Answered | None:
        """The answer to the request of `scope` whose whole body is `body`, or
        None: it goes through the ASGI app. Call :meth:`finish` once an
        answer is written."""
        protocol = hot_protocol(scope)
        if not protocol:
            return None
        prefix = V1_PREFIX if protocol == "v1" else V2_PREFIX
        served = self.server.routes.get((protocol, scope["path"][len(prefix) :]))
        if served is None:
            return None
        headers = {}
        for name, value in scope["headers"]:
            if name in _READ:
                headers[name] = value
            elif name in _ASGI_ONLY:
                return None
        if LENGTH not in headers:
            return None  # a chunked body: the ASGI path checks its size as it arrives
        start = scope.get(RECEIVED) or time.perf_counter()
        metrics = self.metrics
        metrics.in_flight += 1  # before asking the batcher: it counts the requests held
        if not self.server.batchers[(served.name, served.version)].answers_now():
            metrics.in_flight -= 1
            return None
        info: dict[str, Any] = {"protocol": protocol, "compute_s": 0.0}
        info["model"] = served.name
        info["version"] = served.version
        try:
            check_declared_length(headers[LENGTH], self.server.limits.max_body_bytes)
            answer = self._infer(protocol, served, body, headers, info)
        except RequestError as exc:
            answer = error_answer(exc)
        except Exception as exc:
            answer = internal_answer(exc)
        # Held until here, as the ASGI path holds it until it has answered: nothing
        # else runs before this answer is written, and then nothing can fail it.
        metrics.in_flight -= 1
        return None if answer is None else Answered(answer, info, start)

    def _infer(
        self,
        protocol: str,
        served: ServedModel,
        body: bytes,
        headers: dict[bytes, bytes],
        info: dict[str, Any],
    ) -> Answer | None:
        """hot.py's predict_v1 / infer_v2 without awaiting: None when the batcher
        will not compute these rows at once after all (their number is only
        known now; the ASGI path then parses the body again)."""
        server = self.server
        if protocol == "v1":
            request = tfserving.parse_predict(served, body)
            result = server.infer_now(served, request.arrays, info)
            if result is None:
                return None
            return Answer(200, tfserving.encode_predict(served, request, result.outputs))
        header_length = headers.get(HEADER_LENGTH)
        parsed = v2.parse_infer(
            served, body, None if header_length is None else header_length.decode()
        )
        result = server.infer_now(served, parsed.arrays, info)
        if result is None:
            return None
        return v2_answer(*v2.encode_infer(served, parsed, result.outputs))

    def finish(self, scope: Any, answered: Answered) -> None:
        """Record an answer given here, once written (as app.App records its own)."""
        self.counter.inc()
        answer = answered.answer
        elapsed = time.perf_counter() - answered.start
        record(
            self.metrics,
            self.access_log,
            scope,
            answered.info,
            answer.status,
            len(answer.body),
            elapsed,
        )
