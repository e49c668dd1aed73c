"""load_model against HTTP servers that misbehave on purpose (issue #16): a
server that trickles one byte at a time, a shard body that never ends,
malformed status lines and headers. Each must end in a DownloadError that
names the URL and the fault, within the limits the caller gave.

The server is a raw socket loop on 127.0.0.1 in daemon threads; it stops
when the test ends (and every connection thread exits within a second).
"""

from __future__ import annotations

import json
import math
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import tfjs_infer as ti
from fixture_utils import FIXTURES
from tfjs_infer.errors import DownloadError, InvalidArgumentError, InvalidModelError

TM = FIXTURES / "tfjs" / "topo_tm_style"
_OK = b"HTTP/1.1 200 OK\r\nConnection: close\r\n"


class _FaultServer:
    """Answers each request path with one misbehaviour (see `_respond`)."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.sent: dict[str, int] = {}
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.model_json = (TM / "model.json").read_bytes()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(1.0)
            try:
                request = conn.recv(65536).decode("latin-1")
                path = request.split(" ")[1].split("?")[0]
                self._respond(conn, path)
            except OSError:
                pass  # the client gave up: that is what most tests want

    def _send_slowly(self, conn: socket.socket, path: str, data: bytes, pause: float) -> None:
        for i in range(len(data)):
            if self.stop.is_set():
                return
            conn.sendall(data[i : i + 1])
            self.sent[path] = self.sent.get(path, 0) + 1
            time.sleep(pause)

    def _respond(self, conn: socket.socket, path: str) -> None:
        if path == "/trickle-body/model.json":
            head = _OK + f"Content-Length: {len(self.model_json)}\r\n\r\n".encode()
            conn.sendall(head)
            self._send_slowly(conn, path, self.model_json, 0.5)
        elif path == "/trickle-head/model.json":
            self._send_slowly(conn, path, _OK + b"X-Slow: " + b"a" * 1000 + b"\r\n\r\n", 0.2)
        elif path.startswith("/endless/") and path.endswith("model.json"):
            conn.sendall(_OK + f"Content-Length: {len(self.model_json)}\r\n\r\n".encode())
            conn.sendall(self.model_json)
        elif path.startswith("/endless/"):  # a shard: no length, data until the client leaves
            conn.sendall(_OK + b"\r\n")
            block = bytes(1 << 16)
            while not self.stop.is_set():
                conn.sendall(block)
                self.sent[path] = self.sent.get(path, 0) + len(block)
        elif path == "/bad-status/model.json":
            conn.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        elif path == "/long-line/model.json":
            conn.sendall(_OK + b"X-Long: " + b"a" * 100_000 + b"\r\n\r\n")
        elif path == "/many-headers/model.json":
            conn.sendall(_OK + b"".join(b"X-H%d: v\r\n" % i for i in range(200)) + b"\r\n")

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        self.sock.close()


@pytest.fixture()
def faults(monkeypatch: pytest.MonkeyPatch) -> Iterator[_FaultServer]:
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    srv = _FaultServer()
    try:
        yield srv
    finally:
        srv.close()


@pytest.mark.parametrize("where", ["trickle-body", "trickle-head"])
def test_total_timeout_bounds_a_server_that_trickles_bytes(
    faults: _FaultServer, where: str
) -> None:
    # One byte every 0.5 s (body) or 0.2 s (headers): no single read ever times out.
    start = time.monotonic()
    with pytest.raises(DownloadError, match=r"longer than the total limit of 1\.5 s") as info:
        ti.load_model(f"{faults.url}/{where}/model.json", timeout=2, total_timeout=1.5)
    elapsed = time.monotonic() - start
    # Not before the deadline, and long before the trickle ends (minutes away).
    assert 1.5 <= elapsed < 4.0, elapsed
    # The client kept reading (no single read timed out): it was the total limit.
    assert faults.sent[f"/{where}/model.json"] >= 3, faults.sent
    assert info.value.url.endswith(f"/{where}/model.json")


def test_an_endless_shard_stops_at_the_declared_size(faults: _FaultServer) -> None:
    manifest = json.loads(faults.model_json)["weightsManifest"]
    declared = sum(4 * math.prod(w["shape"]) for g in manifest for w in g["weights"])
    with pytest.raises(DownloadError, match=r"weight shard .* allowed by the weights manifest"):
        ti.load_model(f"{faults.url}/endless/model.json", timeout=5, total_timeout=20)
    time.sleep(0.3)
    # The client stopped reading near the declared size (plus socket buffers),
    # not at max_bytes (4 GiB by default).
    assert sum(faults.sent.values()) < declared + (32 << 20)


def test_an_endless_shard_stops_at_max_bytes(faults: _FaultServer) -> None:
    limit = len(faults.model_json) + 100  # less than the shard the manifest declares
    with pytest.raises(DownloadError, match=rf"over the 100 bytes .*max_bytes={limit}"):
        ti.load_model(f"{faults.url}/endless/model.json", max_bytes=limit, total_timeout=20)


@pytest.mark.parametrize(
    ("where", "found"),
    [
        ("bad-status", "BadStatusLine"),
        ("long-line", "LineTooLong"),
        ("many-headers", "more than 100 headers"),
    ],
)
def test_malformed_http_responses_are_download_errors(
    faults: _FaultServer, where: str, found: str
) -> None:
    with pytest.raises(DownloadError, match=rf"not valid HTTP .*{found}") as info:
        ti.load_model(f"{faults.url}/{where}/model.json", timeout=5, total_timeout=20)
    assert where in info.value.url


def test_invalid_urls_and_timeouts_are_named() -> None:
    with pytest.raises(InvalidModelError, match=r"not a valid URL \(Invalid IPv6 URL\)"):
        ti.load_model("http://[::1/model.json")
    with pytest.raises(InvalidModelError, match=r"not a valid URL .*[Pp]ort"):
        ti.load_model("http://127.0.0.1:99999/model.json")
    for name, value in (("timeout", 0), ("timeout", -1.0), ("total_timeout", 0), ("timeout", "5")):
        with pytest.raises(InvalidArgumentError, match=rf"^{name} must be a positive number"):
            ti.load_model("http://127.0.0.1:9/model.json", **{name: value})
    with pytest.raises(InvalidArgumentError, match=r"max_bytes must be a positive integer"):
        ti.load_model(Path("x.json"), max_bytes=0)
