"""Start the real ``tfjs-infer serve`` as a subprocess on a free 127.0.0.1 port.

The served repository is laid out as TF Serving lays one out::

    repo/digits/model.json ...            the bundled digits example (labels)
    repo/multi/1/model.h5                 2 inputs, 2 outputs (tf_keras 2 fixture)
    repo/multi/2/model.keras              2 inputs, 2 dict outputs (Keras 3 fixture)
    repo/ids/model.json                   int32 ids -> Embedding -> Dense (TF.js fixture)
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the serve extra is part of the test extra")

import tfjs_infer as ti

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
MULTI_V1 = FIXTURES / "keras2" / "functional_multi" / "model.h5"
MULTI_V2 = FIXTURES / "keras3" / "functional_multi" / "model.keras"
IDS = FIXTURES / "tfjs" / "embedding_int32"
STARTUP_S = 60.0
# Straight to 127.0.0.1, whatever proxy the environment names.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class ServerProcess:
    """A running server: its base URL, process and log file."""

    url: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        """Signal the server and wait for its exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise

    def rss_bytes(self) -> int:
        """The server process's resident memory (Linux)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS line")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(path: Path | str, log_dir: Path, *options: str) -> ServerProcess:
    """Start ``python -m tfjs_infer serve PATH --port P OPTIONS`` and wait until it is ready."""
    port = free_port()
    log = log_dir / f"serve-{port}.log"
    cmd = [sys.executable, "-m", "tfjs_infer", "serve", str(path), "--port", str(port), *options]
    with log.open("wb") as sink:
        proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT)
    server = ServerProcess(f"http://127.0.0.1:{port}", port, proc, log)
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}:\n{server.log_text()}")
        try:
            with _OPENER.open(server.url + "/v2/health/ready", timeout=2) as r:
                if r.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"server not ready after {STARTUP_S} s:\n{server.log_text()}")


def make_repository(root: Path) -> Path:
    """The test repository (see the module docstring)."""
    repo = root / "repo"
    shutil.copytree(ti.examples.digits_path().parent, repo / "digits")
    (repo / "multi" / "1").mkdir(parents=True)
    (repo / "multi" / "2").mkdir(parents=True)
    shutil.copy(MULTI_V1, repo / "multi" / "1" / "model.h5")
    shutil.copy(MULTI_V2, repo / "multi" / "2" / "model.keras")
    shutil.copytree(IDS, repo / "ids")
    return repo


@pytest.fixture(scope="session")
def repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_repository(tmp_path_factory.mktemp("serve"))


@pytest.fixture(scope="session")
def server(repository: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The shared server: default batching, a 1 MiB body limit."""
    proc = start_server(repository, tmp_path_factory.mktemp("logs"), "--max-body-mb", "1")
    yield proc
    status = proc.stop()
    assert status == 0, proc.log_text()


@pytest.fixture(scope="session")
def digits() -> ti.Model:
    return ti.load_model(ti.examples.digits_path())


@pytest.fixture(scope="session")
def ids_model() -> ti.Model:
    return ti.load_model(IDS)


def ids_rows(n: int, seed: int = 0) -> np.ndarray:
    """`n` rows of valid int32 ids (the embedding has 10 entries)."""
    return np.random.default_rng(seed).integers(0, 10, size=(n, 5), dtype=np.int32)


@pytest.fixture(scope="session")
def multi_v1() -> ti.Model:
    return ti.load_model(MULTI_V1)


@pytest.fixture(scope="session")
def multi_v2() -> ti.Model:
    return ti.load_model(MULTI_V2)


def digits_rows(n: int, seed: int = 0) -> np.ndarray:
    """`n` held-out digit images (float32), shuffled by `seed`."""
    x, _ = ti.examples.digits_samples()
    idx = np.random.default_rng(seed).choice(len(x), size=n, replace=n > len(x))
    return np.ascontiguousarray(x[idx], dtype=np.float32)


def multi_rows(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """`n` rows for the two-input model: float32 values that JSON carries exactly."""
    rng = np.random.default_rng(seed)
    return {k: (rng.standard_normal((n, 8)) * 2).astype(np.float32) for k in ("in_a", "in_b")}


def http(
    method: str,
    url: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> tuple[int, dict[str, str], bytes]:
    """One plain HTTP request: (status, headers with lower-case names, body)."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with _OPENER.open(req, timeout=timeout) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def post_json(url: str, doc: Any, timeout: float = 30.0) -> tuple[int, Any]:
    """POST a JSON document; (status, decoded answer)."""
    status, _, body = http(
        "POST", url, json.dumps(doc).encode(), {"Content-Type": "application/json"}, timeout
    )
    return status, json.loads(body)


def get_json(url: str) -> tuple[int, Any]:
    status, _, body = http("GET", url)
    return status, json.loads(body)


def assert_bitwise(received: Any, expected: np.ndarray) -> None:
    """`received` (an array or JSON lists) is bitwise `expected` after the float32 round trip."""
    got = np.asarray(received, dtype=expected.dtype)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    width = {4: np.uint32, 8: np.uint64}[expected.dtype.itemsize]
    mismatch = got.view(width) != np.ascontiguousarray(expected).view(width)
    assert not mismatch.any(), f"{int(mismatch.sum())} values differ"


def metric_value(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text (0 when absent)."""
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    total = 0.0
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        head, _, value = line.rpartition(" ")
        metric, _, rest = head.partition("{")
        if metric == name and all(part in rest for part in want.split(",") if part):
            total += float(value)
    return total
