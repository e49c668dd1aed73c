"""64 concurrent clients for 30 s (TFJS_INFER_SOAK_SECONDS), both protocols: zero
errors, every answer bitwise in-process ``predict``, and requests merged into
shared predict calls."""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any

import numpy as np
import pytest

from conftest import assert_bitwise, digits_rows, http, metric_value

aiohttp = pytest.importorskip("aiohttp")
from tritonclient.http import InferResult  # noqa: E402

CLIENTS = 64
SECONDS = float(os.environ.get("TFJS_INFER_SOAK_SECONDS", "30"))


def _requests(digits: Any, count: int) -> list[tuple[str, bytes, dict[str, str], str, np.ndarray]]:
    """(path, body, headers, kind, expected) for `count` different requests."""
    made = []
    for i in range(count):
        x = digits_rows(1 + i % 5, seed=1000 + i)
        want = digits.predict(x)
        kind = ("v1", "v2-json", "v2-binary")[i % 3]
        if kind == "v1":
            body = json.dumps({"instances": x.tolist()}).encode()
            made.append(("/v1/models/digits:predict", body, {}, kind, want))
        elif kind == "v2-json":
            tensor = {
                "name": "pixels",
                "shape": list(x.shape),
                "datatype": "FP32",
                "data": x.ravel().tolist(),
            }
            body = json.dumps({"inputs": [tensor]}).encode()
            made.append(("/v2/models/digits/infer", body, {}, kind, want))
        else:
            tensor = {
                "name": "pixels",
                "shape": list(x.shape),
                "datatype": "FP32",
                "parameters": {"binary_data_size": x.nbytes},
            }
            head = json.dumps(
                {"inputs": [tensor], "parameters": {"binary_data_output": True}}
            ).encode()
            headers = {"Inference-Header-Content-Length": str(len(head))}
            made.append(("/v2/models/digits/infer", head + x.tobytes(), headers, kind, want))
    return made


def _decode(kind: str, body: bytes, headers: Any) -> np.ndarray:
    if kind == "v1":
        return np.asarray(json.loads(body)["predictions"], dtype=np.float32)
    length = headers.get("Inference-Header-Content-Length")
    result = InferResult.from_response_body(
        body, header_length=None if length is None else int(length)
    )
    return result.as_numpy("probs")


async def _soak(url: str, requests: list[Any]) -> tuple[int, list[str]]:
    done = 0
    errors: list[str] = []
    deadline = time.monotonic() + SECONDS

    async def client(index: int, session: aiohttp.ClientSession) -> None:
        nonlocal done
        i = index
        while time.monotonic() < deadline:
            path, body, headers, kind, want = requests[i % len(requests)]
            i += CLIENTS
            try:
                async with session.post(url + path, data=body, headers=headers) as r:
                    answer = await r.read()
                    if r.status != 200:
                        errors.append(f"{kind}: {r.status} {answer[:200]!r}")
                        continue
                    assert_bitwise(_decode(kind, answer, r.headers), want)
                    done += 1
            except Exception as exc:
                errors.append(f"{kind}: {type(exc).__name__}: {exc}")

    connector = aiohttp.TCPConnector(limit=CLIENTS)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.gather(*(client(c, session) for c in range(CLIENTS)))
    return done, errors


def test_64_clients_for_30_seconds(server, digits) -> None:
    requests = _requests(digits, 3 * CLIENTS)
    before = http("GET", server.url + "/metrics")[2].decode()
    done, errors = asyncio.run(_soak(server.url, requests))
    assert not errors, f"{len(errors)} errors, first: {errors[:3]}"
    assert done >= CLIENTS * 5, done
    after = http("GET", server.url + "/metrics")[2].decode()
    merged = metric_value(after, "tfjs_infer_batch_requests_sum", model="digits") - metric_value(
        before, "tfjs_infer_batch_requests_sum", model="digits"
    )
    calls = metric_value(after, "tfjs_infer_batch_requests_count", model="digits") - metric_value(
        before, "tfjs_infer_batch_requests_count", model="digits"
    )
    assert merged == done, (merged, done)
    assert calls < done, "no request was ever merged with another"
