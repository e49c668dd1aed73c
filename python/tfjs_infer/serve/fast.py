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
from .batcher import Batcher
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


class Answered(NamedTuple):
    """An answer given here: what to write, and what to record once it is written."""

    answer: Answer
    info: dict[str, Any]
    start: float  # when the request's first bytes arrived (perf_counter)
    batcher: Batcher  # the model's: its batch is counted once the answer is written


class _Route(NamedTuple):
    """Where an inference path goes: its protocol, model and the model's batcher."""

    protocol: str
    served: ServedModel
    batcher: Batcher


class FastAnswers:
    """Answers inference requests inside the HTTP protocol's callback (see the module)."""

    def __init__(self, server: Server, access_log: AccessLog | None, counter: Count) -> None:
        self.server = server
        self.metrics = server.metrics
        self.access_log = access_log
        self.counter = counter  # requests answered here (a /metrics series)
        # Each inference path that has routed (server.routes: at most MAX_ROUTES), by
        # the scope's path: one lookup instead of classifying and cutting the path.
        self._routes: dict[str, _Route] = {}

    def answer(self, scope: Any, body: bytes) -> Answered | None:
        """The answer to the request of `scope` whose whole body is `body`, or
        None: it goes through the ASGI app. Call :meth:`finish` once an
        answer is written."""
        if scope["method"] != "POST":
            return None
        route = self._routes.get(scope["path"]) or self._route(scope)
        if route is None:
            return None
        length = header_length = None
        for name, value in scope["headers"]:
            if name == LENGTH:
                length = value
            elif name == HEADER_LENGTH:
                header_length = value
            elif name in _ASGI_ONLY:
                return None
        if length is None:
            return None  # a chunked body: the ASGI path checks its size as it arrives
        start = scope.get(RECEIVED) or time.perf_counter()
        metrics = self.metrics
        metrics.in_flight += 1  # before asking the batcher: it counts the requests held
        if not route.batcher.answers_now():
            metrics.in_flight -= 1
            return None
        served = route.served
        info: dict[str, Any] = {"protocol": route.protocol, "compute_s": 0.0}
        info["model"] = served.name
        info["version"] = served.version
        try:
            limit = self.server.limits.max_body_bytes
            if len(body) > limit:  # the whole body is here: Content-Length bytes
                check_declared_length(length, limit)
            answer = self._infer(route, body, header_length, info)
        except RequestError as exc:
            answer = error_answer(exc)
        except Exception as exc:
            answer = internal_answer(exc)
        # Held until here, as the ASGI path holds it until it has answered: nothing
        # else runs before this answer is written, and then nothing can fail it.
        metrics.in_flight -= 1
        return None if answer is None else Answered(answer, info, start, route.batcher)

    def _route(self, scope: Any) -> _Route | None:
        """The route of an inference path that has routed before (hot.inference_model
        routes a path the first time, through the ASGI app), remembered; else None."""
        protocol = hot_protocol(scope)
        if not protocol:
            return None
        path = scope["path"]
        prefix = V1_PREFIX if protocol == "v1" else V2_PREFIX
        served = self.server.routes.get((protocol, path[len(prefix) :]))
        if served is None:
            return None
        batcher = self.server.batchers[(served.name, served.version)]
        route = self._routes[path] = _Route(protocol, served, batcher)
        return route

    def _infer(
        self, route: _Route, body: bytes, header_length: bytes | None, info: dict[str, Any]
    ) -> Answer | None:
        """hot.py's predict_v1 / infer_v2 without awaiting: None when the batcher
        will not compute these rows at once after all (their number is only
        known now; the ASGI path then parses the body again)."""
        served = route.served
        server = self.server
        if route.protocol == "v1":
            request = tfserving.parse_predict(served, body)
            result = server.infer_at_once(served, route.batcher, request.arrays, info)
            if result is None:
                return None
            return Answer(200, tfserving.encode_predict(served, request, result.outputs))
        parsed = v2.parse_infer(
            served, body, None if header_length is None else header_length.decode()
        )
        result = server.infer_at_once(served, route.batcher, parsed.arrays, info)
        if result is None:
            return None
        return v2_answer(*v2.encode_infer(served, parsed, result.outputs))

    def finish(self, scope: Any, answered: Answered) -> None:
        """Record an answer given here, once written (as app.App records its own)."""
        elapsed = time.perf_counter() - answered.start
        self.counter.inc()
        answer = answered.answer
        info = answered.info
        if "batch_rows" in info:  # it computed (Batcher.predict_answering_now)
            answered.batcher.report(info["batch_rows"], info["compute_s"])
        record(
            self.metrics,
            self.access_log,
            scope,
            answered.info,
            answer.status,
            len(answer.body),
            elapsed,
        )
