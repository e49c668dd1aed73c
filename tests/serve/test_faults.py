"""Faults and limits: oversized and malformed bodies, clients that leave, overload,
request time, SIGTERM with requests in flight; and request batching, whose
merged answers must be bitwise the unbatched ones."""

from __future__ import annotations

import gzip
import json
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import tfjs_infer as ti
from conftest import (
    IDS,
    ServerProcess,
    assert_bitwise,
    digits_rows,
    http,
    ids_rows,
    metric_value,
    post_json,
    start_server,
)

DIGITS = ti.examples.digits_path().parent
# The slow server: a batch waits up to 2 s for company, so requests stay in flight.
SLOW = ("--batch-timeout-us", "2000000", "--max-batch-size", "100000", "--max-queue", "6")


@pytest.fixture(scope="module")
def slow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    repo = tmp_path_factory.mktemp("slow-repo")
    shutil.copytree(DIGITS, repo / "digits")
    shutil.copytree(IDS, repo / "ids")
    proc = start_server(repo, tmp_path_factory.mktemp("slow"), *SLOW)
    yield proc
    assert proc.stop() == 0, proc.log_text()


def _predict_v1(url: str, rows: Any, timeout: float = 30.0) -> tuple[int, dict[str, str], Any]:
    body = json.dumps({"instances": rows.tolist()}).encode()
    status, headers, answer = http("POST", url + "/v1/models/digits:predict", body, timeout=timeout)
    return status, headers, json.loads(answer)


def _concurrently(calls: list[Any]) -> list[Any]:
    """Run the calls at once from threads that start together."""
    gate = threading.Barrier(len(calls))

    def run(call: Any) -> Any:
        gate.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def _raw_post(port: int, path: str, headers: str, chunks: Iterator[bytes]) -> tuple[int, Any]:
    """POST over a raw socket, sending `chunks` until the server answers early;
    (status, decoded JSON answer)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{headers}\r\n".encode())
        try:
            for chunk in chunks:
                s.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered before the whole body was sent, as it may
        received = b""
        while True:
            try:
                part = s.recv(65536)
            except ConnectionResetError:
                break
            if not part:
                break
            received += part
    head, _, body = received.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def test_oversized_bodies_get_413(server) -> None:
    path = "/v1/models/digits:predict"
    big = b'{"instances": [' + b"0.0," * 400_000 + b"0.0]}"  # 1.6 MB > the 1 MiB limit
    status, doc = _raw_post(server.port, path, f"Content-Length: {len(big)}\r\n", iter([big]))
    assert status == 413 and "limit is 1048576" in doc["error"]
    # No Content-Length (chunked): refused once the stream passes the limit.
    chunked = (
        b"%x\r\n%s\r\n" % (len(big[i : i + 65536]), big[i : i + 65536])
        for i in range(0, len(big), 65536)
    )
    status, doc = _raw_post(server.port, path, "Transfer-Encoding: chunked\r\n", chunked)
    assert status == 413 and "exceeds the limit" in doc["error"]
    # A small gzip body that inflates past the limit.
    bomb = gzip.compress(b" " * (4 << 20))
    status, _, body = http("POST", server.url + path, bomb, {"Content-Encoding": "gzip"})
    assert status == 413 and "decompressed body exceeds" in json.loads(body)["error"]


def test_gzip_bodies_are_accepted(server, digits) -> None:
    x = digits_rows(2, seed=21)
    body = gzip.compress(json.dumps({"instances": x.tolist()}).encode())
    status, _, answer = http(
        "POST", server.url + "/v1/models/digits:predict", body, {"Content-Encoding": "gzip"}
    )
    assert status == 200
    assert_bitwise(json.loads(answer)["predictions"], digits.predict(x))


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\xff\xfe\x00garbage",
        b"[1, 2, 3]",
        b'"text"',
        b'{"instances": [[1, 2], [3]]}',
        b"{" * 100_000,
        b"[" * 100_000 + b"]" * 100_000,
    ],
    ids=["empty", "binary", "list", "string", "ragged", "deep", "deep-lists"],
)
def test_malformed_bodies_get_400(server, body: bytes) -> None:
    for path in ("/v1/models/digits:predict", "/v2/models/digits/infer"):
        status, _, answer = http("POST", server.url + path, body)
        assert status == 400, (path, answer[:200])
        assert json.loads(answer)["error"]


def test_batching_merges_requests_and_answers_exactly(slow_server, digits) -> None:
    before = metric_value(_metrics(slow_server), "tfjs_infer_batch_requests_sum")
    inputs = [digits_rows(n, seed=30 + n) for n in range(1, 7)]  # 6 requests of 1..6 rows
    answers = _concurrently([lambda x=x: _predict_v1(slow_server.url, x) for x in inputs])
    for x, (status, headers, doc) in zip(inputs, answers):
        assert status == 200
        assert_bitwise(doc["predictions"], digits.predict(x))  # each request alone, unbatched
        assert "compute;dur=" in headers["server-timing"]
    text = _metrics(slow_server)
    merged = metric_value(text, "tfjs_infer_batch_requests_sum") - before
    batches = metric_value(text, "tfjs_infer_batch_requests_count")
    assert merged == 6 and batches < 6 + 2, (merged, batches)  # several requests per predict call


def test_a_bad_request_does_not_fail_its_batch(slow_server, ids_model) -> None:
    inputs = [ids_rows(n, seed=70 + n) for n in (1, 2, 3)]
    bad = ids_rows(2, seed=79)
    bad[1, 3] = 12  # past the embedding's 10 rows: the core refuses the whole batch
    url = slow_server.url + "/v1/models/ids:predict"
    calls = [lambda x=x: post_json(url, {"instances": x.tolist()}) for x in [*inputs, bad]]
    *good, refused = _concurrently(calls)
    assert refused[0] == 400 and "id 12" in refused[1]["error"]
    for x, (status, doc) in zip(inputs, good):
        assert status == 200
        assert_bitwise(doc["predictions"], ids_model.predict(x))


def test_overload_answers_503_with_retry_after(slow_server, digits) -> None:
    x = digits_rows(1, seed=40)
    answers = _concurrently([lambda: _predict_v1(slow_server.url, x) for _ in range(10)])
    codes = sorted(status for status, _, _ in answers)
    assert codes == [200] * 6 + [503] * 4, codes  # --max-queue 6
    for status, headers, doc in answers:
        if status == 503:
            assert headers["retry-after"] == "1" and "overloaded" in doc["error"]
        else:
            assert_bitwise(doc["predictions"], digits.predict(x))


def test_overload_memory_stays_bounded(slow_server) -> None:
    x = digits_rows(64, seed=41)
    body = json.dumps({"instances": x.tolist()}).encode()
    url = slow_server.url + "/v1/models/digits:predict"
    rss_before = slow_server.rss_bytes()
    with ThreadPoolExecutor(32) as pool:
        codes = list(pool.map(lambda _: http("POST", url, body)[0], range(600)))
    grew = slow_server.rss_bytes() - rss_before
    assert set(codes) <= {200, 503} and codes.count(503) > 500, codes.count(503)
    assert grew < 64 << 20, f"RSS grew by {grew / 2**20:.1f} MiB under overload"


def test_client_disconnecting_mid_request(slow_server, digits) -> None:
    head = (
        "POST /v1/models/digits:predict HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n"
    )
    body = json.dumps({"instances": digits_rows(2).tolist()}).encode()
    # 1: leaves halfway through the body.
    with socket.create_connection(("127.0.0.1", slow_server.port)) as s:
        s.sendall(head.format(len(body)).encode() + body[: len(body) // 2])
    # 2: sends everything, then leaves while the request waits for its batch.
    with socket.create_connection(("127.0.0.1", slow_server.port)) as s:
        s.sendall(head.format(len(body)).encode() + body)
        time.sleep(0.2)
    # The server goes on answering, exactly.
    x = digits_rows(3, seed=50)
    status, _, doc = _predict_v1(slow_server.url, x)
    assert status == 200
    assert_bitwise(doc["predictions"], digits.predict(x))
    time.sleep(2.5)  # the abandoned request's batch has run
    assert "Traceback" not in slow_server.log_text()


def test_request_time_limit_answers_504(tmp_path: Path) -> None:
    proc = start_server(
        DIGITS,
        tmp_path,
        "--batch-timeout-us",
        "3000000",
        "--max-batch-size",
        "1000",
        "--request-timeout",
        "0.5",
    )
    try:
        start = time.monotonic()
        status, _, doc = _predict_v1(proc.url, digits_rows(1))
        assert status == 504 and "limit of 0.5 s" in doc["error"]
        assert time.monotonic() - start < 2.5
    finally:
        assert proc.stop() == 0, proc.log_text()


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGINT"])
def test_signal_finishes_in_flight_requests_and_exits_0(
    tmp_path: Path, digits, signal_name: str
) -> None:
    import signal

    proc = start_server(
        DIGITS, tmp_path, "--batch-timeout-us", "1500000", "--max-batch-size", "1000"
    )
    inputs = [digits_rows(1 + i % 3, seed=60 + i) for i in range(8)]
    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(_predict_v1, proc.url, x) for x in inputs]
        deadline = time.monotonic() + 10
        while metric_value(_metrics(proc), "tfjs_infer_queue_depth") < 8:
            assert time.monotonic() < deadline, "the requests never arrived"
            time.sleep(0.02)
        proc.proc.send_signal(getattr(signal, signal_name))
        answers = [f.result(timeout=30) for f in futures]
    assert proc.proc.wait(30) == 0, proc.log_text()
    for x, (status, _, doc) in zip(inputs, answers):
        assert status == 200  # none lost
        assert_bitwise(doc["predictions"], digits.predict(x))
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", proc.port), timeout=2).close()


def _metrics(proc: ServerProcess) -> str:
    status, _, body = http("GET", proc.url + "/metrics")
    assert status == 200
    return body.decode()
