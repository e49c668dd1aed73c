"""The ASGI application: both protocols, /metrics, limits, timing and the access log.

Every request goes through :class:`App`, which times it (received ->
answered), subtracts the compute time the handler recorded, exposes both in
a ``Server-Timing`` header (``compute``, ``server`` = the rest, and
``handoff``: the part of ``server`` spent handing the batch to a pool thread
and back) and in /metrics, and writes one JSON access-log line. Inference
requests take the plain-ASGI path of hot.py; everything else Starlette's
router.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router
from starlette.types import Message, Receive, Scope, Send

from . import tfserving, v2
from .accesslog import AccessLog
from .batcher import Batcher
from .codec import RequestError, dump_json
from .common import Limits, Server
from .fast import FastAnswers
from .hot import (
    V1_PREFIX,
    V2_PREFIX,
    Answer,
    answer_inference,
    error_answer,
    hot_protocol,
    internal_answer,
)
from .metrics import CONTENT_TYPE, Metrics
from .protocol import RECEIVED, WRITES
from .record import record, timing_header
from .repository import Repository

_JSON = "application/json"
# Routes take every method and answer a wrong one with a JSON 405 themselves.
_ANY = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
_INFO_KEY = "tfjs_infer"


def _json(doc: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dump_json(doc), status, headers=headers, media_type=_JSON)


def _response(answer: Answer) -> Response:
    headers = {k.decode(): v.decode() for k, v in answer.headers}
    return Response(answer.body, answer.status, headers, media_type=answer.content_type.decode())


def _info(request: Request) -> dict[str, Any]:
    return request.scope[_INFO_KEY]


def build_app(
    server: Server,
    *,
    max_batch_size: int = 1,
    access_log: AccessLog | None = None,
    fast_path: bool = True,
) -> App:
    """The ASGI app (Starlette routing) serving `server`'s models over both protocols
    (and the access log, if given, one JSON line per request). With `fast_path`,
    protocol.py may answer quick inference requests without it (fast.py)."""

    async def v1_models(request: Request) -> Response:
        info = _info(request)
        info["protocol"] = "v1"
        try:
            action, served = tfserving.route(
                server, request.method, request.path_params["rest"], info
            )
            if action == "predict":  # here only under a root path (see hot_protocol)
                rest = request.path_params["rest"]
                return _response(await answer_inference(server, "v1", rest, *_asgi(request), info))
            if action == "metadata":
                return _json(tfserving.metadata(served))
            return _json(tfserving.status(server, served, action == "status_all"))
        except RequestError as exc:
            return _response(error_answer(exc))
        except Exception as exc:
            return _response(internal_answer(exc))

    async def v2_models(request: Request) -> Response:
        info = _info(request)
        info["protocol"] = "v2"
        try:
            rest = request.path_params["rest"]
            action, served = v2.route(server, request.method, rest, info)
            if action == "infer":  # here only under a root path (see hot_protocol)
                return _response(await answer_inference(server, "v2", rest, *_asgi(request), info))
            if action == "ready":
                return _json({"name": served.name, "ready": True})
            if action == "config":
                return _json(v2.model_config(served, max_batch_size))
            return _json(v2.model_metadata(server, served, "/versions/" in rest))
        except RequestError as exc:
            return _response(error_answer(exc))
        except Exception as exc:
            return _response(internal_answer(exc))

    async def v2_root(request: Request) -> Response:
        _info(request)["protocol"] = "v2"
        return _json(v2.server_metadata())

    async def v2_live(request: Request) -> Response:
        _info(request)["protocol"] = "v2"
        return _json({"live": True})

    async def v2_ready(request: Request) -> Response:
        _info(request)["protocol"] = "v2"
        return _json({"ready": True})

    async def v2_index(request: Request) -> Response:
        _info(request)["protocol"] = "v2"
        return _json(v2.repository_index(server))

    async def metrics(request: Request) -> Response:
        return Response(server.metrics.exposition(), media_type=CONTENT_TYPE)

    async def not_found(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        message = f"no route {scope.get('method')} {path}; expected /v1/models/..., /v2/..."
        await _json({"error": message + ", or /metrics"}, 404)(scope, receive, send)

    # A bare Router (no Starlette middleware stack): every handler answers its own errors.
    routes = [  # the inference routes first: they are tried in order
        Route("/v2/models/{rest:path}", v2_models, methods=_ANY),
        Route("/v1/models/{rest:path}", v1_models, methods=_ANY),
        Route("/v2", _method("GET", v2_root), methods=_ANY),
        Route("/v2/health/live", _method("GET", v2_live), methods=_ANY),
        Route("/v2/health/ready", _method("GET", v2_ready), methods=_ANY),
        Route("/v2/repository/index", _method("POST", v2_index), methods=_ANY),
        Route("/metrics", _method("GET", metrics), methods=_ANY),
    ]
    router = Router(routes, default=not_found, lifespan=_lifespan(server, access_log))
    fast = FastAnswers(server, access_log, server.metrics.fast_path.labels()) if fast_path else None
    return App(server, router, access_log, fast)


def _asgi(request: Request) -> tuple[Scope, Receive]:
    return request.scope, request.receive


def _method(allowed: str, endpoint: Callable[[Request], Any]) -> Callable[[Request], Any]:
    """`endpoint`, answering a JSON 405 to any other method (HEAD goes with GET)."""

    async def checked(request: Request) -> Response:
        if request.method != allowed and (allowed, request.method) != ("GET", "HEAD"):
            message = f"{request.url.path} takes {allowed}, received {request.method}"
            return _json({"error": message}, 405)
        return await endpoint(request)

    return checked


def _lifespan(server: Server, access_log: AccessLog | None) -> Callable[[Any], Any]:
    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        for batcher in server.batchers.values():
            batcher.start()
        yield
        # uvicorn runs this after the in-flight requests have been answered.
        for batcher in server.batchers.values():
            await batcher.stop()
        if access_log is not None:
            access_log.flush()

    return lifespan


class App:
    """The server's ASGI callable: timing, the Server-Timing header, metrics and
    the access log around every request; inference straight to hot.py, the
    rest through Starlette's router."""

    def __init__(
        self,
        server: Server,
        router: Any,
        access_log: AccessLog | None,
        fast_answers: FastAnswers | None = None,
    ) -> None:
        self.server = server
        self.router = router
        self.metrics = server.metrics
        self.access_log = access_log
        # Read by protocol.py: inference requests it may answer without this app.
        self.fast_answers = fast_answers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.router(scope, receive, send)
            return
        # From the request's first bytes reaching uvicorn (protocol.py), else from now.
        start = scope.get(RECEIVED) or time.perf_counter()
        info: dict[str, Any] = {"protocol": "", "model": "", "compute_s": 0.0}
        scope[_INFO_KEY] = info
        protocol = hot_protocol(scope)
        state = [500, 0]  # the answer's status and body bytes, for the record
        metrics = self.metrics
        metrics.in_flight += 1
        try:
            if protocol:
                rest = scope["path"][len(V1_PREFIX if protocol == "v1" else V2_PREFIX) :]
                answer = await answer_inference(self.server, protocol, rest, scope, receive, info)
                state = [answer.status, len(answer.body)]
                await _send_answer(send, answer, info, start, scope.get(WRITES))
            else:
                await self.router(scope, receive, _timed_send(send, info, start, state))
        finally:
            metrics.in_flight -= 1
            self._record(scope, info, state[0], state[1], time.perf_counter() - start)

    def _record(
        self, scope: Scope, info: dict[str, Any], status: int, size: int, elapsed: float
    ) -> None:
        record(self.metrics, self.access_log, scope, info, status, size, elapsed)


async def _send_answer(
    send: Send, answer: Answer, info: dict[str, Any], start: float, writes: Any
) -> None:
    """Send `answer` with its Server-Timing; head and body in one write when the
    connection's HeldWrites (protocol.py) is given."""
    if writes is not None:
        writes.hold()
    try:
        await send(
            {
                "type": "http.response.start",
                "status": answer.status,
                "headers": [
                    (b"content-type", answer.content_type),
                    (b"content-length", str(len(answer.body)).encode()),
                    *answer.headers,
                    timing_header(info, start),
                ],
            }
        )
        await send({"type": "http.response.body", "body": answer.body})
    finally:
        if writes is not None:
            writes.flush()


def _timed_send(send: Send, info: dict[str, Any], start: float, state: list[int]) -> Send:
    """`send`, adding Server-Timing to the answer and noting its status and size in `state`."""

    async def timed_send(message: Message) -> None:
        if message["type"] == "http.response.start":
            state[0] = message["status"]
            message["headers"] = [*message.get("headers", []), timing_header(info, start)]
        elif message["type"] == "http.response.body":
            state[1] += len(message.get("body", b""))
        await send(message)

    return timed_send


def make_server(
    repository: Repository,
    *,
    max_batch_size: int,
    batch_timeout_us: int,
    max_queue: int,
    limits: Limits,
    workers: int = 1,
    inline_us: int = 0,
) -> Server:
    """Wire the repository's models to batchers sharing one compute pool."""
    metrics = Metrics()
    executor = ThreadPoolExecutor(
        max_workers=max(1, workers) * max(1, len(repository.models)),
        thread_name_prefix="tfjs-infer-compute",
    )
    batchers = {}
    for served in repository:
        batcher = Batcher(
            served.name,
            served.model,
            served.output_names,
            executor,
            max_batch_size=max_batch_size,
            timeout_s=batch_timeout_us * 1e-6,
            max_queue=max_queue,
            workers=workers,
            inline_s=inline_us * 1e-6,
            on_batch=metrics.batch_hook(served.name),
            alone=_alone_reader(metrics),
        )
        metrics.queue_depth.labels(served.name, str(served.version)).set_function(
            _depth_reader(batcher)
        )
        batchers[(served.name, served.version)] = batcher
    return Server(repository, batchers, metrics, limits)


def _alone_reader(metrics: Metrics) -> Callable[[], bool]:
    """Whether the server is handling exactly one request (the one asking)."""
    return lambda: metrics.in_flight <= 1


def _depth_reader(batcher: Batcher) -> Callable[[], int]:
    """The queue depth gauge's reader for one batcher."""
    return lambda: batcher.depth
