"""The ASGI app in-process: the plain-ASGI inference path (hot.py) and the
router's path (taken when the server mounts the app under a root path) give
the same answers, and both carry the Server-Timing header."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import numpy as np

import tfjs_infer as ti
from conftest import assert_bitwise, digits_rows
from tfjs_infer.serve.app import build_app, make_server
from tfjs_infer.serve.common import Limits
from tfjs_infer.serve.protocol import RECEIVED
from tfjs_infer.serve.repository import open_repository


async def _call(
    app: Any, path: str, body: bytes, headers: list[tuple[bytes, bytes]], root: str
) -> tuple[int, dict[bytes, bytes], bytes]:
    """POST `body` to `path` under the root path `root`: (status, headers, body)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": root + path,
        "raw_path": (root + path).encode(),
        "root_path": root,
        "query_string": b"",
        "headers": [(b"content-length", str(len(body)).encode()), *headers],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 8501),
    }
    # The body in two parts, as a server may deliver it.
    messages = [
        {"type": "http.request", "body": body[:10], "more_body": True},
        {"type": "http.request", "body": body[10:], "more_body": False},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start, answer = sent
    return start["status"], dict(start["headers"]), answer["body"]


def test_plain_asgi_and_router_paths_answer_alike(digits) -> None:
    repository = open_repository(str(ti.examples.digits_path()), "digits")
    server = make_server(
        repository, max_batch_size=64, batch_timeout_us=0, max_queue=8, limits=Limits()
    )
    app = build_app(server, max_batch_size=64)
    x = digits_rows(3, seed=5)
    v1 = json.dumps({"instances": x.tolist()}).encode()
    tensor = {"name": "pixels", "shape": [3, 64], "datatype": "FP32"}
    tensor["parameters"] = {"binary_data_size": x.nbytes}
    head = json.dumps({"inputs": [tensor], "parameters": {"binary_data_output": True}}).encode()
    v2_headers = [(b"inference-header-content-length", str(len(head)).encode())]

    async def main() -> list[Any]:
        for batcher in server.batchers.values():
            batcher.start()
        answers = []
        for root in ("", "/api"):
            answers.append(await _call(app, "/v1/models/digits:predict", v1, [], root))
            answers.append(
                await _call(app, "/v2/models/digits/infer", head + x.tobytes(), v2_headers, root)
            )
        return answers

    want = digits.predict(x)
    for status, headers, body in asyncio.run(main()):
        assert status == 200 and b"server;dur=" in headers[b"server-timing"], body
        if headers[b"content-type"] == b"application/json":
            assert_bitwise(json.loads(body)["predictions"], want)
        else:
            n = int(headers[b"inference-header-content-length"])
            assert_bitwise(np.frombuffer(body[n:], "<f4").reshape(want.shape), want)


def test_server_timing_counts_from_the_arrival_stamp() -> None:
    repository = open_repository(str(ti.examples.digits_path()), "digits")
    server = make_server(
        repository, max_batch_size=64, batch_timeout_us=0, max_queue=8, limits=Limits()
    )
    app = build_app(server, max_batch_size=64)
    body = json.dumps({"instances": digits_rows(1, seed=7).tolist()}).encode()

    async def main() -> dict[bytes, bytes]:
        for batcher in server.batchers.values():
            batcher.start()
        stamped = _StampedApp(app, time.perf_counter() - 0.25)  # arrived 250 ms ago
        _, headers, _ = await _call(stamped, "/v1/models/digits:predict", body, [], "")
        return headers

    timing = asyncio.run(main())[b"server-timing"].decode()
    server_ms = float(timing.split("server;dur=")[1].split(",")[0])
    assert server_ms >= 250.0, timing


class _StampedApp:
    """`app`, called with the scope stamped as if the request arrived at `received`."""

    def __init__(self, app: Any, received: float) -> None:
        self.app = app
        self.received = received

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        scope[RECEIVED] = self.received
        await self.app(scope, receive, send)
