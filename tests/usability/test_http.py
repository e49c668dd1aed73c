"""load_model from http(s) URLs, against a local HTTP server started by the test.

The server (http.server in a daemon thread, bound to 127.0.0.1 on a free
port) serves copies of TF.js fixtures; it is shut down after each test and a
watchdog timer stops it after 120 s whatever happens.
"""

from __future__ import annotations

import http.server
import io
import json
import shutil
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import tfjs_infer as ti
from fixture_utils import FIXTURES, check_model
from tfjs_infer.errors import DownloadError, InvalidModelError, WeightsError
from tfjs_infer.io.http import weight_url

SHARDED = FIXTURES / "converter" / "sharded"
TM = FIXTURES / "tfjs" / "topo_tm_style"


class _Handler(http.server.SimpleHTTPRequestHandler):
    log: list[str]

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self.server.requests.append(self.path)  # type: ignore[attr-defined]
        route = self.path.split("?")[0]
        if route.startswith("/redirect/"):
            target = self.path[len("/redirect/") :]
            self.send_response(302)
            self.send_header("Location", target.replace("__", "://", 1))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if route.startswith("/slow/"):
            time.sleep(1.5)
            self.path = self.path.replace("/slow/", "/", 1)
        if route == "/huge":
            self.send_response(200)
            self.send_header("Content-Length", str(10 << 30))
            self.end_headers()
            return
        super().do_GET()


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    requests: list[str]

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that stop reading on purpose (size limits) are expected here."""


@pytest.fixture()
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, _Server]]:
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)  # talk to 127.0.0.1 directly
    root = tmp_path / "www"
    shutil.copytree(SHARDED, root / "sharded")
    shutil.copytree(TM, root / "tm")
    (root / "tm" / "metadata.json").write_text(
        json.dumps({"labels": ["a", "b", "c"], "imageSize": 64})
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for p in TM.iterdir():
            zf.write(p, p.name)
    (root / "tm.zip").write_bytes(buf.getvalue())

    def handler(*args: Any, **kwargs: Any) -> _Handler:
        return _Handler(*args, directory=str(root), **kwargs)

    srv = _Server(("127.0.0.1", 0), handler)
    srv.requests = []
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    watchdog = threading.Timer(120, srv.shutdown)
    watchdog.daemon = True
    watchdog.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}", srv
    finally:
        watchdog.cancel()
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=10)


def test_load_from_url_matches_tfjs_and_keeps_the_query_string(server: tuple[str, _Server]) -> None:
    base, srv = server
    model = ti.load_model(f"{base}/sharded/model.json?v=7&sig=a%2Fb")
    check_model(model, SHARDED)
    assert model.source == f"{base}/sharded/model.json?v=7&sig=a%2Fb"
    shard_requests = [r for r in srv.requests if "group1-shard" in r]
    assert len(shard_requests) == 7
    assert all(
        r.endswith("?v=7&sig=a%2Fb") and r.startswith("/sharded/group1-shard")
        for r in shard_requests
    )


def test_folder_url_and_metadata(server: tuple[str, _Server]) -> None:
    base, srv = server
    model = ti.load_model(f"{base}/tm/")
    check_model(model, TM)
    assert model.labels == ["a", "b", "c"]
    assert model.metadata["imageSize"] == 64
    assert "/tm/model.json" in srv.requests and "/tm/metadata.json" in srv.requests
    # No metadata.json on the server: still loads.
    check_model(ti.load_model(f"{base}/sharded/model.json"), SHARDED)


def test_url_of_a_zip_and_a_redirect(server: tuple[str, _Server]) -> None:
    base, _ = server
    check_model(ti.load_model(f"{base}/tm.zip"), TM)
    model = ti.load_model(f"{base}/redirect/http__127.0.0.1:{base.rsplit(':', 1)[1]}/tm/model.json")
    check_model(model, TM)


def test_weight_urls_follow_tfjs() -> None:
    assert weight_url("https://h/a/b/model.json?x=1#frag", "./g1.bin") == "https://h/a/b/g1.bin?x=1"
    assert weight_url("https://h/model.json", "sub/w 1.bin") == "https://h/sub/w%201.bin"
    with pytest.raises(WeightsError, match="leaves"):
        weight_url("https://h/a/model.json", "../../secret.bin")
    with pytest.raises(WeightsError, match="absolute"):
        weight_url("https://h/a/model.json", "https://evil/x.bin")


def test_refused_schemes_and_redirects(server: tuple[str, _Server]) -> None:
    base, _ = server
    for url in ("ftp://127.0.0.1/model.json", "file:///etc/passwd", "data://text/plain,{}"):
        with pytest.raises(InvalidModelError, match="only http and https"):
            ti.load_model(url)
    for target in ("file__/etc/passwd", "ftp__127.0.0.1/model.json"):
        with pytest.raises(DownloadError, match=r"redirect to .* refused") as info:
            ti.load_model(f"{base}/redirect/{target}")
        assert info.value.url.startswith(base)


def test_http_errors_size_limit_and_timeouts(server: tuple[str, _Server]) -> None:
    base, _ = server
    with pytest.raises(DownloadError, match="HTTP 404") as info:
        ti.load_model(f"{base}/nothing/model.json")
    assert info.value.status == 404
    with pytest.raises(DownloadError, match="download limit"):
        ti.load_model(f"{base}/sharded/model.json", max_bytes=8_000)  # 4.8 KB + 6.2 KB of shards
    with pytest.raises(DownloadError, match="download limit"):
        ti.load_model(f"{base}/huge")
    start = time.monotonic()
    with pytest.raises(DownloadError, match="timed out"):
        ti.load_model(f"{base}/slow/tm/model.json", timeout=0.3)
    assert time.monotonic() - start < 1.4  # the timeout, not the server, ended the wait
    with pytest.raises(DownloadError, match="total limit"):
        ti.load_model(f"{base}/slow/tm/model.json", timeout=5, total_timeout=0.01)
    with pytest.raises(DownloadError, match="cannot fetch"):
        ti.load_model("http://127.0.0.1:9/model.json", timeout=2)  # nothing listens on port 9


def test_missing_shard_on_the_server(server: tuple[str, _Server], tmp_path: Path) -> None:
    base, _ = server
    (tmp_path / "www" / "sharded" / "group1-shard3of7.bin").unlink()
    with pytest.raises(DownloadError, match=r"group1-shard3of7.bin") as info:
        ti.load_model(f"{base}/sharded/model.json")
    assert info.value.status == 404
