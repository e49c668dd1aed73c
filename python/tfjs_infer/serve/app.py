"""The ASGI application: both protocols, /metrics, limits, timing and the access log.

Every response, error or not, goes through :class:`Observe`, which times the
request (received -> answered), subtracts the compute time the handler
recorded, exposes both in a ``Server-Timing`` header (``compute``, ``server``
= the rest, and ``handoff``: the part of ``server`` spent handing the batch
to a pool thread and back) and in /metrics, and writes one JSON access-log
line.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route, Router
from starlette.types import Receive, Scope, Send

from . import tfserving, v2
from .accesslog import AccessLog
from .batcher import Batcher
from .codec import RequestError, decompress, dump_json
from .common import Limits, Server, expect_body, with_timeout
from .metrics import CONTENT_TYPE, Metrics
from .repository import Repository

_JSON = "application/json"
# Routes take every method and answer a wrong one with a JSON 405 themselves.
_ANY = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
_INFO_KEY = "tfjs_infer"


def _json(doc: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dump_json(doc), status, headers=headers, media_type=_JSON)


def _error(exc: RequestError) -> Response:
    return _json({"error": exc.message}, exc.status, exc.headers)


def _internal(exc: Exception) -> Response:
    """A bug, not a bad request: log the traceback, answer 500 in the protocols' form."""
    logging.getLogger("tfjs_infer.serve").exception("internal error")
    return _json({"error": f"internal error: {type(exc).__name__}: {exc}"}, 500)


def _info(request: Request) -> dict[str, Any]:
    return request.scope[_INFO_KEY]


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing (413) one larger than `limit` before reading it all."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestError(413, f"the body has {declared} bytes; the limit is {limit}")
    chunks = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise RequestError(413, f"the body exceeds the limit of {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect:
        # Nobody reads the answer; 499 (nginx's "client closed request") marks it in the log.
        raise RequestError(499, "the client disconnected before sending the whole body") from None
    body = b"".join(chunks)
    return decompress(body, request.headers.get("content-encoding"), limit)


def build_app(
    server: Server, *, max_batch_size: int = 1, access_log: AccessLog | None = None
) -> Observe:
    """The ASGI app (Starlette routing) serving `server`'s models over both protocols
    (and the access log, if given, one JSON line per request)."""
    limits = server.limits

    async def v1_models(request: Request) -> Response:
        info = _info(request)
        info["protocol"] = "v1"
        try:
            action, served = tfserving.route(
                server, request.method, request.path_params["rest"], info
            )
            if action == "predict":
                answer = await with_timeout(
                    _v1_predict(request, served, info), limits.request_timeout_s
                )
                return _json(answer)
            if action == "metadata":
                return _json(tfserving.metadata(served))
            return _json(tfserving.status(server, served, action == "status_all"))
        except RequestError as exc:
            return _error(exc)
        except Exception as exc:
            return _internal(exc)

    async def _v1_predict(request: Request, served: Any, info: dict[str, Any]) -> Any:
        ticket = expect_body(server, served, info)
        try:
            body = await read_body(request, limits.max_body_bytes)
            return await tfserving.predict(server, served, body, info)
        finally:
            ticket.release()

    async def v2_models(request: Request) -> Response:
        info = _info(request)
        info["protocol"] = "v2"
        try:
            rest = request.path_params["rest"]
            action, served = v2.route(server, request.method, rest, info)
            if action == "infer":
                answer, headers = await with_timeout(
                    _v2_infer(request, served, info), limits.request_timeout_s
                )
                if isinstance(answer, bytes):
                    return Response(answer, 200, headers=headers)
                return _json(answer)
            if action == "ready":
                return _json({"name": served.name, "ready": True})
            if action == "config":
                return _json(v2.model_config(served, max_batch_size))
            return _json(v2.model_metadata(server, served, "/versions/" in rest))
        except RequestError as exc:
            return _error(exc)
        except Exception as exc:
            return _internal(exc)

    async def _v2_infer(request: Request, served: Any, info: dict[str, Any]) -> Any:
        ticket = expect_body(server, served, info)
        try:
            body = await read_body(request, limits.max_body_bytes)
            header_length = request.headers.get(v2.HEADER_LENGTH)
            return await v2.infer(server, served, body, header_length, info)
        finally:
            ticket.release()

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
    return Observe(router, server.metrics, access_log)


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


class Observe:
    """ASGI middleware: timing, the Server-Timing header, metrics and the access log."""

    def __init__(self, app: Any, metrics: Metrics, access_log: AccessLog | None) -> None:
        self.app = app
        self.metrics = metrics
        self.access_log = access_log

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        info: dict[str, Any] = {"protocol": "", "model": "", "compute_s": 0.0}
        scope[_INFO_KEY] = info
        state = {"status": 500, "bytes": 0}

        async def timed_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                compute = info["compute_s"]
                own = time.perf_counter() - start - compute
                handoff = info.get("handoff_s", 0.0)
                timing = (
                    f"compute;dur={compute * 1e3:.4f}, server;dur={own * 1e3:.4f}, "
                    f"handoff;dur={handoff * 1e3:.4f}"
                )
                message["headers"] = [
                    *message.get("headers", []),
                    (b"server-timing", timing.encode()),
                ]
            elif message["type"] == "http.response.body":
                state["bytes"] += len(message.get("body", b""))
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, timed_send)
        finally:
            self.metrics.in_flight.dec()
            elapsed = time.perf_counter() - start
            self._record(scope, info, state, elapsed)

    def _record(
        self, scope: dict[str, Any], info: dict[str, Any], state: dict[str, Any], elapsed: float
    ) -> None:
        protocol = info["protocol"]
        status = state["status"]
        if protocol:
            series = self.metrics.for_request(info["model"], protocol, status)
            series.requests.inc()
            if series.errors is not None:
                series.errors.inc()
            series.latency.observe(elapsed)
            if "batch_rows" in info:
                series.overhead.observe(elapsed - info["compute_s"])
        if self.access_log is not None:
            client = scope.get("client")
            record = {
                "ts": round(time.time(), 6),
                "client": f"{client[0]}:{client[1]}" if client else "",
                "method": scope["method"],
                "path": scope["path"],
                "status": status,
                "bytes": state["bytes"],
                "ms": round(elapsed * 1e3, 3),
            }
            for key in ("protocol", "model", "version", "rows", "batch_rows"):
                if info.get(key) not in (None, ""):
                    record[key] = info[key]
            if "batch_rows" in info:
                record["compute_ms"] = round(info["compute_s"] * 1e3, 3)
            self.access_log.write(record)


def make_server(
    repository: Repository,
    *,
    max_batch_size: int,
    batch_timeout_us: int,
    max_queue: int,
    limits: Limits,
    workers: int = 1,
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
            on_batch=metrics.batch_hook(served.name),
        )
        metrics.queue_depth.labels(served.name, str(served.version)).set_function(
            _depth_reader(batcher)
        )
        batchers[(served.name, served.version)] = batcher
    return Server(repository, batchers, metrics, limits)


def _depth_reader(batcher: Batcher) -> Callable[[], int]:
    """The queue depth gauge's reader for one batcher."""
    return lambda: batcher.depth
