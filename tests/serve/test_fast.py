"""Answers given inside the HTTP protocol's callback (serve/fast.py) are the
ASGI path's answers, byte for byte.

Two real servers on the same repository: one as shipped, one with
``--no-fast-path`` (every request through uvicorn's task and the ASGI app).
Each request goes to both as the same bytes over raw sockets; the answers
must be identical but for the Date header's value and Server-Timing's
durations. ``tfjs_infer_fast_path_requests_total`` says which requests the
first server answered in the callback: the test checks that those it should
take, it took, and those it should leave (unknown models, 100-continue,
chunked or gzip bodies, proxy headers), it left. Keep-alive, pipelining,
HTTP/1.0, ``Connection: close``, a client that does not read (the transport
pauses writing) and SIGTERM under fast-path load are checked too.
"""

from __future__ import annotations

import gzip
import json
import re
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from conftest import (
    ServerProcess,
    assert_bitwise,
    digits_rows,
    http,
    metric_value,
    multi_rows,
    start_server,
)

LIMIT_MB = "0.005"  # 5242 bytes: a complete too-large body still arrives in one read
# Every compute counts as quick (a loaded machine may take 200 us, the default, for a
# few rows): which requests the fast path takes then depends on nothing but the request.
OPTIONS = ("--max-body-mb", LIMIT_MB, "--inline-compute-us", "1000000")
_FAST = "tfjs_infer_fast_path_requests_total"


@pytest.fixture(scope="module")
def pair(
    repository: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """(as shipped, --no-fast-path), same repository and limits."""
    logs = tmp_path_factory.mktemp("fast")
    fast = start_server(repository, logs, *OPTIONS)
    try:
        asgi = start_server(repository, logs, *OPTIONS, "--no-fast-path")
    except BaseException:
        fast.stop()
        raise
    yield fast, asgi
    assert fast.stop() == 0, fast.log_text()
    assert asgi.stop() == 0, asgi.log_text()


def post(path: str, body: bytes, *headers: str, version: str = "1.1") -> bytes:
    """A POST request's bytes (Content-Length set unless a header says chunked)."""
    lines = [f"POST {path} HTTP/{version}", "Host: test", *headers]
    if not any(h.lower().startswith("transfer-encoding") for h in headers):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def v1(path: str, doc: object, *headers: str) -> bytes:
    return post(path, json.dumps(doc).encode(), "Content-Type: application/json", *headers)


def v2_binary(x: np.ndarray, name: str = "pixels", binary_out: bool = True) -> bytes:
    tensor = {"name": name, "shape": list(x.shape), "datatype": "FP32"}
    tensor["parameters"] = {"binary_data_size": x.nbytes}
    params = {"binary_data_output": binary_out}
    head = json.dumps({"inputs": [tensor], "parameters": params}).encode()
    return post(
        "/v2/models/digits/infer",
        head + x.tobytes(),
        f"Inference-Header-Content-Length: {len(head)}",
    )


def read_answers(sock: socket.socket, count: int) -> list[bytes]:
    """`count` whole HTTP answers from `sock` (fewer if it closes first)."""
    data = b""
    answers: list[bytes] = []
    while len(answers) < count:
        end = data.find(b"\r\n\r\n")
        if end >= 0:
            found = re.search(rb"\ncontent-length: (\d+)", data[:end], re.I)
            length = int(found.group(1)) if found else 0  # 0: "100 Continue"
            if len(data) >= end + 4 + length:
                answers.append(data[: end + 4 + length])
                data = data[end + 4 + length :]
                continue
        chunk = sock.recv(1 << 16)
        if not chunk:
            break
        data += chunk
    return answers


def exchange(port: int, request: bytes, count: int = 1) -> list[bytes]:
    """Send `request` (one or several pipelined requests) in one write; the answers."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        return read_answers(sock, count)


def normalized(answer: bytes) -> bytes:
    """The answer without what differs between two servers: the date, the durations."""
    answer = re.sub(rb"\r\ndate: [^\r]*", b"\r\ndate: -", answer)
    return re.sub(rb"dur=[0-9.]+", b"dur=-", answer)


def fast_count(server: ServerProcess) -> float:
    status, _, body = http("GET", server.url + "/metrics")
    assert status == 200
    return metric_value(body.decode(), _FAST)


def compare(
    pair: tuple[ServerProcess, ServerProcess],
    request: bytes,
    taken: int,
    count: int = 1,
    warm: bytes = b"",
) -> list[bytes]:
    """Send `request` to both servers (`warm` and `request` twice before, to route
    the path and time the model: a model's first call is slow); the answers must
    match and the fast path must have answered `taken` of them."""
    fast, asgi = pair
    for server in pair:
        for _ in range(2):
            if warm:
                exchange(server.port, warm)
            exchange(server.port, request, count)
    before = fast_count(fast)
    got = exchange(fast.port, request, count)
    want = exchange(asgi.port, request, count)
    assert len(got) == len(want) == count
    assert [normalized(a) for a in got] == [normalized(a) for a in want]
    assert fast_count(fast) - before == taken
    assert fast_count(asgi) == 0
    return got


def body_of(answer: bytes) -> bytes:
    return answer.split(b"\r\n\r\n", 1)[1]


def test_v1_row_columnar_and_top_k_match_the_asgi_path(pair, digits) -> None:
    x = digits_rows(3, seed=31)
    (answer,) = compare(pair, v1("/v1/models/digits:predict", {"instances": x.tolist()}), 1)
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert_bitwise(json.loads(body_of(answer))["predictions"], digits.predict(x))
    compare(pair, v1("/v1/models/digits:predict", {"inputs": x.tolist()}), 1)
    compare(pair, v1("/v1/models/digits:predict", {"instances": x.tolist(), "top_k": 3}), 1)


def test_v1_multi_io_matches_the_asgi_path(pair) -> None:
    rows = multi_rows(2, seed=3)
    named = [{k: v[i].tolist() for k, v in rows.items()} for i in range(2)]
    columns = {k: v.tolist() for k, v in rows.items()}
    for path in ("/v1/models/multi/versions/1:predict", "/v1/models/multi:predict"):
        compare(pair, v1(path, {"instances": named}), 1)
        compare(pair, v1(path, {"inputs": columns}), 1)


def test_v2_json_binary_and_top_k_match_the_asgi_path(pair, digits) -> None:
    x = digits_rows(2, seed=32)
    (answer,) = compare(pair, v2_binary(x), 1)
    head, body = answer.split(b"\r\n\r\n", 1)
    n = int(re.search(rb"inference-header-content-length: (\d+)", head).group(1))  # type: ignore[union-attr]
    assert_bitwise(np.frombuffer(body[n:], "<f4").reshape(2, 10), digits.predict(x))
    compare(pair, v2_binary(x, binary_out=False), 1)
    tensor = {"name": "pixels", "shape": [2, 64], "datatype": "FP32", "data": x.tolist()}
    doc = {"id": "7", "inputs": [tensor], "parameters": {"top_k": 2}}
    compare(pair, post("/v2/models/digits/infer", json.dumps(doc).encode()), 1)
    doc = {"inputs": [tensor], "outputs": [{"name": "probs", "parameters": {"classification": 3}}]}
    compare(pair, post("/v2/models/digits/versions/1/infer", json.dumps(doc).encode()), 1)
    rows = multi_rows(2, seed=4)
    tensors = [
        {"name": k, "shape": [2, 8], "datatype": "FP32", "data": v.reshape(-1).tolist()}
        for k, v in rows.items()
    ]
    compare(pair, post("/v2/models/multi/infer", json.dumps({"inputs": tensors}).encode()), 1)


@pytest.mark.parametrize(
    "request_bytes",
    [
        post("/v1/models/digits:predict", b"{not json"),
        v1("/v1/models/digits:predict", {"instances": [[1.0, 2.0]]}),  # wrong shape
        v1("/v1/models/digits:predict", {"instances": digits_rows(1).tolist(), "x": 1}),
        v1("/v1/models/ids:predict", {"instances": [[0.5] * 5]}),  # floats for int32 ids
        post("/v2/models/digits/infer", b"[]"),
        post("/v2/models/digits/infer", b"{}", "Inference-Header-Content-Length: 9"),
        v1("/v1/models/digits:predict", {"instances": [[0.0] * 64] * 60}),  # 413: > 5242 bytes
    ],
    ids=["v1-malformed", "v1-shape", "v1-field", "v1-dtype", "v2-array", "v2-header", "413"],
)
def test_errors_match_the_asgi_path(pair, request_bytes: bytes) -> None:
    # A good request first: the fast path answers for a model whose compute time is known.
    model = "ids" if b"/ids:" in request_bytes else "digits"
    rows = [[1] * 5] if model == "ids" else [[0.25] * 64]
    warm = v1(f"/v1/models/{model}:predict", {"instances": rows})
    (answer,) = compare(pair, request_bytes, 1, warm=warm)
    assert answer.startswith((b"HTTP/1.1 400 ", b"HTTP/1.1 413 ")), answer[:200]


@pytest.mark.parametrize(
    "request_bytes",
    [
        v1("/v1/models/nope:predict", {"instances": [[0.0] * 64]}),  # 404: never routed
        v1("/v1/models/digits/versions/9:predict", {"instances": [[0.0] * 64]}),
        post("/v2/models/nope/infer", b"{}"),
        v1("/v1/models/digits:predict", {"instances": [[0.0] * 64]}, "Expect: 100-continue"),
        v1("/v1/models/digits:predict", {"instances": [[0.0] * 64]}, "X-Forwarded-For: 10.0.0.1"),
        post(
            "/v1/models/digits:predict",
            gzip.compress(json.dumps({"instances": [[0.0] * 64]}).encode()),
            "Content-Encoding: gzip",
        ),
        post(
            "/v1/models/digits:predict",
            b'5\r\n{"ins\r\n0\r\n\r\n',
            "Transfer-Encoding: chunked",
        ),
    ],
    ids=["404-model", "404-version", "v2-404", "100-continue", "proxy", "gzip", "chunked"],
)
def test_what_the_fast_path_leaves_is_answered_alike(pair, request_bytes: bytes) -> None:
    compare(pair, request_bytes, 0)


def test_keep_alive_pipelining_http10_and_connection_close(pair) -> None:
    x = v1("/v1/models/digits:predict", {"instances": digits_rows(1, seed=40).tolist()})
    y = v2_binary(digits_rows(2, seed=41))
    compare(pair, x + y + x, 3, count=3)  # pipelined in one write, answered in order
    # A request that closes its connection goes the ASGI way (uvicorn's own bytes).
    http10 = x.replace(b" HTTP/1.1\r\n", b" HTTP/1.0\r\n", 1)
    (answer,) = compare(pair, http10, 0)
    assert answer.startswith(b"HTTP/1.1 200 ")
    closing = v1("/v1/models/digits:predict", {"instances": [[0.5] * 64]}, "Connection: close")
    (answer,) = compare(pair, closing, 0)
    assert b"\r\nconnection: close\r\n" in answer
    fast, _ = pair
    with socket.create_connection(("127.0.0.1", fast.port), timeout=30) as sock:
        sock.sendall(closing + x)  # nothing is answered after the closing request
        assert len(read_answers(sock, 2)) == 1
        assert sock.recv(1) == b""


def test_a_client_that_does_not_read(pair, digits) -> None:
    """Hundreds of pipelined requests with big answers sent before reading any: the
    server's writes pause, it goes the ASGI way (which waits for the client), and
    every answer arrives, in order, exact."""
    fast, _ = pair
    xs = [digits_rows(8, seed=100 + i) for i in range(400)]
    tensors = [{"name": "pixels", "shape": [8, 64], "datatype": "FP32", "data": x.tolist()}
               for x in xs]  # fmt: skip
    requests = [
        post("/v2/models/digits/infer", json.dumps({"inputs": [t], "id": str(i)}).encode())
        for i, t in enumerate(tensors)
    ]
    for _ in range(2):  # route the path and time the model, should this test run alone
        exchange(fast.port, requests[0])
    before = fast_count(fast)
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting
        sock.settimeout(60)
        sock.connect(("127.0.0.1", fast.port))
        sender = threading.Thread(target=sock.sendall, args=(b"".join(requests),))
        sender.start()
        time.sleep(1.0)  # the server fills what the socket holds, then must wait
        answers = read_answers(sock, len(requests))
        sender.join(30)
    assert len(answers) == len(requests)
    for i, (x, answer) in enumerate(zip(xs, answers)):
        doc = json.loads(body_of(answer))
        assert doc["id"] == str(i)
        assert_bitwise(np.reshape(doc["outputs"][0]["data"], (8, 10)), digits.predict(x))
    taken = fast_count(fast) - before
    assert 0 < taken < len(requests), taken  # some in the callback, some waited


def test_sigterm_under_fast_path_load_loses_no_request(tmp_path: Path, repository: Path) -> None:
    """Clients sending back to back over keep-alive connections when SIGTERM comes:
    every request the server handled (its access log says) was answered whole,
    and the server exits 0."""
    proc = start_server(repository / "digits", tmp_path)
    request = v1("/v1/models/digits:predict", {"instances": digits_rows(1, seed=9).tolist()})
    answered = [0] * 4
    wrong: list[bytes] = []
    stop = threading.Event()

    def client(n: int) -> None:
        with socket.create_connection(("127.0.0.1", proc.port), timeout=30) as sock:
            while not stop.is_set():
                try:
                    sock.sendall(request)
                    got = read_answers(sock, 1)
                except OSError:
                    return
                if not got:
                    return  # closed by the server before it read this request
                if not got[0].startswith(b"HTTP/1.1 200 OK\r\n"):
                    wrong.append(got[0])
                answered[n] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    proc.proc.send_signal(signal.SIGTERM)
    assert proc.proc.wait(30) == 0, proc.log_text()
    stop.set()
    for t in threads:
        t.join(30)
    logged = proc.log_text().count('"path":"/v1/models/digits:predict","status":200')
    assert not wrong, wrong[:3]
    assert sum(answered) > 100
    assert logged == sum(answered), (logged, answered)
