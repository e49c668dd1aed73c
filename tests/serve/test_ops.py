"""Operations: /metrics, the JSON access log, the default bind address, the
repository layout, and that a request cannot make the server load anything."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import tfjs_infer as ti
from conftest import (
    MULTI_V2,
    assert_bitwise,
    digits_rows,
    get_json,
    http,
    metric_value,
    post_json,
    start_server,
)
from tfjs_infer.errors import InvalidModelError
from tfjs_infer.serve.repository import discover


def test_metrics_count_requests_errors_latency_batches(server) -> None:
    post_json(server.url + "/v1/models/digits:predict", {"instances": digits_rows(2).tolist()})
    post_json(server.url + "/v1/models/digits:predict", {"instances": [[1.0]]})
    status, headers, body = http("GET", server.url + "/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain")
    text = body.decode()
    assert (
        metric_value(text, "tfjs_infer_requests_total", model="digits", protocol="v1", code="200")
        >= 1
    )
    assert (
        metric_value(
            text, "tfjs_infer_request_errors_total", model="digits", protocol="v1", code="400"
        )
        >= 1
    )
    assert (
        metric_value(
            text, "tfjs_infer_request_duration_seconds_count", model="digits", protocol="v1"
        )
        >= 2
    )
    assert (
        metric_value(
            text, "tfjs_infer_server_overhead_seconds_count", model="digits", protocol="v1"
        )
        >= 1
    )
    assert metric_value(text, "tfjs_infer_batch_rows_sum", model="digits") >= 2
    assert 'tfjs_infer_queue_depth{model="multi",version="2"}' in text


def test_access_log_is_one_json_object_per_request(server) -> None:
    x = digits_rows(3, seed=77)
    post_json(server.url + "/v1/models/digits:predict", {"instances": x.tolist()})
    deadline = time.monotonic() + 5  # lines are written in bursts, every 0.2 s
    while True:
        lines = [json.loads(r) for r in server.log_text().splitlines() if r.startswith('{"ts"')]
        predicts = [r for r in lines if r["path"] == "/v1/models/digits:predict"]
        if (predicts and predicts[-1].get("rows") == 3) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert predicts, "no access-log line for the predict"
    record = predicts[-1]
    assert record["method"] == "POST" and record["protocol"] == "v1" and record["model"] == "digits"
    assert record["rows"] == 3 and record["version"] == 1
    assert record["ms"] >= record["compute_ms"] > 0
    assert record["client"].startswith("127.0.0.1:")


def test_binds_loopback_by_default(server) -> None:
    assert f"Uvicorn running on http://127.0.0.1:{server.port}" in server.log_text()
    from tfjs_infer.cli import build_parser

    assert build_parser().parse_args(["serve", "m"]).host == "127.0.0.1"


def test_requests_cannot_load_models(server, repository: Path) -> None:
    shutil.copytree(ti.examples.digits_path().parent, repository / "late")  # after start-up
    status, doc = post_json(server.url + "/v1/models/late:predict", {"instances": [[0.0] * 64]})
    assert status == 404 and "'late' is not served" in doc["error"]
    for name in ("..%2Fdigits", "%2Ftmp%2Fmodel.json", "digits%2F..%2Fmulti"):
        status, _ = get_json(server.url + f"/v2/models/{name}")
        assert status in (400, 404)
    status, doc = get_json(server.url + "/v1/models/https:%2F%2Fexample.com%2Fmodel.json")
    assert status == 404


def test_repository_layouts(tmp_path: Path) -> None:
    digits = ti.examples.digits_path()
    assert discover(str(digits)) == [("digits", 1, str(digits))]
    assert discover(str(digits.parent), "mnist") == [("mnist", 1, str(digits))]
    assert discover("https://host/models/tm/model.json?v=2") == [
        ("tm", 1, "https://host/models/tm/model.json?v=2")
    ]
    versioned = tmp_path / "clf"
    for v in (3, 10):
        (versioned / str(v)).mkdir(parents=True)
        shutil.copy(MULTI_V2, versioned / str(v) / "model.keras")
    found = discover(str(versioned))
    assert [(n, v) for n, v, _ in found] == [("clf", 3), ("clf", 10)]
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copytree(versioned, repo / "clf")
    shutil.copytree(digits.parent, repo / "digits")
    assert sorted((n, v) for n, v, _ in discover(str(repo))) == [
        ("clf", 3),
        ("clf", 10),
        ("digits", 1),
    ]
    with pytest.raises(InvalidModelError, match="--name renames a single model"):
        discover(str(repo), "x")
    (repo / "empty").mkdir()
    with pytest.raises(InvalidModelError, match=r"expected model\.json"):
        discover(str(repo))
    with pytest.raises(InvalidModelError, match="no such file"):
        discover(str(tmp_path / "missing"))
    with pytest.raises(InvalidModelError, match="model name 'bad name'"):
        discover(str(digits), "bad name")


DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_deploy_files_run_this_cli() -> None:
    """The Dockerfile and the KServe runtime cannot run here (no registry, no cluster);
    what can be checked is that they hand the server options it takes."""
    yaml = pytest.importorskip("yaml")
    from tfjs_infer.cli import build_parser

    lines = (DEPLOY / "Dockerfile").read_text().splitlines()
    entry = json.loads(next(x for x in lines if x.startswith("ENTRYPOINT"))[len("ENTRYPOINT") :])
    cmd = json.loads(next(x for x in lines if x.startswith("CMD"))[len("CMD") :])
    assert entry == ["tfjs-infer", "serve"]
    args = build_parser().parse_args([*entry[1:], *cmd])
    assert (args.path, args.host, args.port) == ("/models", "0.0.0.0", 8080)

    runtime = yaml.safe_load((DEPLOY / "kserve" / "servingruntime.yaml").read_text())
    service = yaml.safe_load((DEPLOY / "kserve" / "inferenceservice.yaml").read_text())
    container = runtime["spec"]["containers"][0]
    argv = [a.replace("{{.Name}}", "digits") for a in container["args"]]
    args = build_parser().parse_args(["serve", *argv])
    assert (args.path, args.name, args.host, args.port) == (
        "/mnt/models",
        "digits",
        "0.0.0.0",
        8080,
    )
    assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    predictor = service["spec"]["predictor"]["model"]
    assert predictor["runtime"] == runtime["metadata"]["name"]
    assert predictor["protocolVersion"] in runtime["spec"]["protocolVersions"]
    formats = {f["name"] for f in runtime["spec"]["supportedModelFormats"]}
    assert predictor["modelFormat"]["name"] in formats


def test_serves_a_model_from_a_url(tmp_path: Path, digits) -> None:
    """PATH may be an http(s) URL: the model is fetched once, at start-up."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    folder = ti.examples.digits_path().parent
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    files = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=files.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{files.server_address[1]}/model.json"
        proc = start_server(url, tmp_path, "--name", "remote")
        try:
            x = digits_rows(3, seed=90)
            status, doc = post_json(
                proc.url + "/v1/models/remote:predict", {"instances": x.tolist()}
            )
            assert status == 200
            assert_bitwise(doc["predictions"], digits.predict(x))
        finally:
            assert proc.stop() == 0, proc.log_text()
    finally:
        files.shutdown()
        files.server_close()


def test_without_the_serve_extra_the_error_says_what_to_install(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['uvicorn'] = None\n"
        "from tfjs_infer.cli import main\n"
        f"sys.exit(main(['serve', {str(ti.examples.digits_path())!r}]))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    assert 'pip install "tfjs-infer[serve]"' in r.stderr
