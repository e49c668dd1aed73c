"""The inference endpoints on plain ASGI, without Starlette's request machinery.

``POST /v1/models/{name}[/versions/{v}]:predict`` and
``POST /v2/models/{name}[/versions/{v}]/infer`` carry a server's load. They
read the scope, the body and the few headers they need directly, and answer
with prebuilt header lists: a Starlette ``Request``/``Response`` pair, the
router's pattern matching and a wrapper around ``send`` cost about as much
as a small model's whole inference. Every other endpoint goes through the
Starlette router (app.py); both give the same answers and errors.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, NamedTuple

from starlette.types import Receive, Scope

from . import tfserving, v2
from .codec import RequestError, decompress, dump_json
from .common import Server, expect_body, note_model
from .repository import ServedModel

V1_PREFIX = "/v1/models/"
V2_PREFIX = "/v2/models/"
JSON_TYPE = b"application/json"
_BINARY_TYPE = b"application/octet-stream"
LENGTH = b"content-length"
ENCODING = b"content-encoding"
HEADER_LENGTH = v2.HEADER_LENGTH.encode()


class Answer(NamedTuple):
    """A response before it is sent: status, body, content type, extra headers."""

    status: int
    body: bytes
    content_type: bytes = JSON_TYPE
    headers: tuple[tuple[bytes, bytes], ...] = ()


def hot_protocol(scope: Scope) -> str:
    """ "v1" or "v2" for an inference request that takes the plain-ASGI path, else ""."""
    if scope["method"] != "POST" or scope.get("root_path"):
        return ""
    path = scope["path"]
    if path.endswith(":predict") and path.startswith(V1_PREFIX):
        return "v1"
    if path.endswith("/infer") and path.startswith(V2_PREFIX):
        return "v2"
    return ""


def error_answer(exc: RequestError) -> Answer:
    """The protocols' error document with the error's status and headers."""
    extra = tuple((k.lower().encode(), v.encode()) for k, v in exc.headers.items())
    return Answer(exc.status, dump_json({"error": exc.message}), JSON_TYPE, extra)


def internal_answer(exc: Exception) -> Answer:
    """A bug, not a bad request: log the traceback, answer 500 in the protocols' form."""
    logging.getLogger("tfjs_infer.serve").exception("internal error")
    return Answer(500, dump_json({"error": f"internal error: {type(exc).__name__}: {exc}"}))


async def read_body(scope: Scope, receive: Receive, limit: int) -> tuple[bytes, dict[bytes, bytes]]:
    """The request body (refused with 413 past `limit`, before it is all read, and
    inflated if gzip/deflate), and the headers the inference endpoints read."""
    headers = {k: v for k, v in scope["headers"] if k in (LENGTH, ENCODING, HEADER_LENGTH)}
    check_declared_length(headers.get(LENGTH), limit)
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            # Nobody reads the answer; 499 (nginx's "client closed request") marks it in the log.
            raise RequestError(499, "the client disconnected before sending the whole body")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise RequestError(413, f"the body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    encoding = headers.get(ENCODING)
    if encoding is not None:
        body = decompress(body, encoding.decode("latin-1"), limit)
    return body, headers


def check_declared_length(declared: bytes | None, limit: int) -> None:
    """Refuse (413) a body whose Content-Length is past `limit`, before reading it."""
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestError(413, f"the body has {declared.decode()} bytes; the limit is {limit}")


_ROUTES = {"v1": tfserving.route, "v2": v2.route}
MAX_ROUTES = 1024


def inference_model(server: Server, protocol: str, rest: str, info: dict[str, Any]) -> ServedModel:
    """The model of ``POST /v1/models/{rest}`` or ``/v2/models/{rest}`` (noted in
    `info`), or the protocol's error.

    Routing parses the path and looks the model up. A server is sent few
    distinct paths and its models are fixed at start-up, so each path that
    routed is remembered (at most ``MAX_ROUTES``, against invented paths).
    """
    key = (protocol, rest)
    served = server.routes.get(key)
    if served is None:
        _, served = _ROUTES[protocol](server, "POST", rest, info)
        if len(server.routes) < MAX_ROUTES:
            server.routes[key] = served
    else:
        note_model(info, served)
    return served


async def predict_v1(
    server: Server, rest: str, scope: Scope, receive: Receive, info: dict[str, Any]
) -> Answer:
    """``POST /v1/models/{rest}``, `rest` ending ``:predict``: TF Serving's predict."""
    served = inference_model(server, "v1", rest, info)
    ticket = expect_body(server, served, info)
    try:
        body, _ = await read_body(scope, receive, server.limits.max_body_bytes)
        answer = await tfserving.predict(server, served, body, info)
    finally:
        ticket.release()
    return Answer(200, answer)


async def infer_v2(
    server: Server, rest: str, scope: Scope, receive: Receive, info: dict[str, Any]
) -> Answer:
    """``POST /v2/models/{rest}``, `rest` ending ``/infer``: OIP v2 inference, JSON
    or binary tensors."""
    served = inference_model(server, "v2", rest, info)
    ticket = expect_body(server, served, info)
    try:
        body, headers = await read_body(scope, receive, server.limits.max_body_bytes)
        header_length = headers.get(HEADER_LENGTH)
        answer, extra = await v2.infer(
            server, served, body, None if header_length is None else header_length.decode(), info
        )
    finally:
        ticket.release()
    return v2_answer(answer, extra)


def v2_answer(body: bytes, extra: dict[str, str]) -> Answer:
    """An OIP v2 inference answer (v2.encode_infer's body and extra headers)."""
    if extra:
        length = extra["Inference-Header-Content-Length"].encode()
        return Answer(200, body, _BINARY_TYPE, ((HEADER_LENGTH, length),))
    return Answer(200, body)


_HANDLERS = {"v1": predict_v1, "v2": infer_v2}


async def answer_inference(
    server: Server,
    protocol: str,
    rest: str,
    scope: Scope,
    receive: Receive,
    info: dict[str, Any],
) -> Answer:
    """The answer to an inference request (`protocol` from :func:`hot_protocol`,
    `rest` the path after /v1/models/ or /v2/models/), errors included; 504
    past the server's request time limit.

    A timer cancels the request's task at the limit (cheaper than
    ``asyncio.wait_for``, which wraps the work in a task of its own on
    Python < 3.12). The timer notes that it fired: comparing the loop's clock
    with its due time cannot tell, as uvloop runs timers on a millisecond
    clock and may run one a little before its due time.
    """
    info["protocol"] = protocol
    task = asyncio.current_task()
    assert task is not None
    seconds = server.limits.request_timeout_s
    cancel = task.cancel
    fired = False

    def expire() -> None:
        nonlocal fired
        fired = True
        cancel()

    timer = asyncio.get_running_loop().call_later(seconds, expire)
    try:
        return await _HANDLERS[protocol](server, rest, scope, receive, info)
    except RequestError as exc:
        return error_answer(exc)
    except asyncio.CancelledError:
        if not fired:
            raise  # not ours: the server is shutting down
        if hasattr(task, "uncancel"):  # Python >= 3.11: this cancel was ours
            task.uncancel()
        return error_answer(
            RequestError(504, f"the request took longer than the limit of {seconds:g} s")
        )
    except Exception as exc:
        return internal_answer(exc)
    finally:
        timer.cancel()
