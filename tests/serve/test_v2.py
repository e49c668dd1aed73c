"""The Open Inference Protocol v2 through Triton's own client (tritonclient[http]),
sync and async, JSON and binary tensors: binary answers are bitwise in-process
``predict``; JSON answers are bitwise after the float32 round trip."""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest

from conftest import assert_bitwise, digits_rows, get_json, http, ids_rows, multi_rows

httpclient = pytest.importorskip("tritonclient.http")
aioclient = pytest.importorskip("tritonclient.http.aio")
from tritonclient.utils import InferenceServerException  # noqa: E402


def _client(server):
    return httpclient.InferenceServerClient(f"127.0.0.1:{server.port}", network_timeout=30)


def _input(name, array, binary):
    tensor = httpclient.InferInput(name, list(array.shape), "FP32")
    tensor.set_data_from_numpy(array, binary_data=binary)
    return tensor


def test_health_and_metadata(server) -> None:
    client = _client(server)
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready("digits") and client.is_model_ready("multi", "1")
    assert not client.is_model_ready("nope")
    meta = client.get_server_metadata()
    assert meta["name"] == "tfjs-infer" and "binary_tensor_data" in meta["extensions"]
    meta = client.get_model_metadata("digits")
    assert meta["inputs"] == [{"name": "pixels", "datatype": "FP32", "shape": [-1, 64]}]
    assert meta["outputs"] == [{"name": "probs", "datatype": "FP32", "shape": [-1, 10]}]
    assert client.get_model_metadata("multi")["versions"] == ["1", "2"]
    assert client.get_model_config("digits")["input"][0]["dims"] == [64]
    index = client.get_model_repository_index()
    assert {(m["name"], m["version"]) for m in index} == {
        ("digits", "1"),
        ("ids", "1"),
        ("multi", "1"),
        ("multi", "2"),
    }
    client.close()


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
def test_infer_sync(server, digits, binary) -> None:
    client = _client(server)
    x = digits_rows(7, seed=11)
    outputs = [httpclient.InferRequestedOutput("probs", binary_data=binary)]
    result = client.infer("digits", [_input("pixels", x, binary)], outputs=outputs, request_id="r1")
    assert result.get_response()["id"] == "r1"
    assert result.get_response()["model_version"] == "1"
    assert_bitwise(result.as_numpy("probs"), digits.predict(x))
    client.close()


def test_infer_without_outputs_answers_binary(server, digits) -> None:
    client = _client(server)
    x = digits_rows(2, seed=12)
    result = client.infer("digits", [_input("pixels", x, True)])  # client asks binary_data_output
    assert "binary_data_size" in result.get_output("probs")["parameters"]
    assert_bitwise(result.as_numpy("probs"), digits.predict(x))
    client.close()


def test_infer_multi_io_and_output_selection(server, multi_v1, multi_v2) -> None:
    client = _client(server)
    rows = multi_rows(5, seed=13)
    inputs = [_input("in_b", rows["in_b"], True), _input("in_a", rows["in_a"], False)]  # any order
    result = client.infer("multi", inputs, model_version="1")
    for name, want in zip(["out_b", "out_a"], multi_v1.predict(rows)):
        assert_bitwise(result.as_numpy(name), want)
    only = [httpclient.InferRequestedOutput("first", binary_data=True)]
    result = client.infer("multi", inputs, outputs=only)
    assert [o["name"] for o in result.get_response()["outputs"]] == ["first"]
    assert_bitwise(result.as_numpy("first"), multi_v2.predict(rows)["first"])
    client.close()


def test_infer_async(server, digits) -> None:
    async def run() -> list[np.ndarray]:
        client = aioclient.InferenceServerClient(f"127.0.0.1:{server.port}")
        try:
            calls = []
            for i in range(16):
                x = digits_rows(1 + i % 4, seed=100 + i)
                tensor = aioclient.InferInput("pixels", list(x.shape), "FP32")
                tensor.set_data_from_numpy(x, binary_data=i % 2 == 0)
                out = aioclient.InferRequestedOutput("probs", binary_data=i % 3 != 0)
                calls.append(client.infer("digits", [tensor], outputs=[out]))
            results = await asyncio.gather(*calls)
            return [r.as_numpy("probs") for r in results]
        finally:
            await client.close()

    answers = asyncio.run(run())
    for i, got in enumerate(answers):
        assert_bitwise(got, digits.predict(digits_rows(1 + i % 4, seed=100 + i)))


def test_classification_extension_and_top_k(server, digits) -> None:
    client = _client(server)
    x = digits_rows(3, seed=14)
    probs = digits.predict(x)
    order = np.argsort(-probs, axis=1, kind="stable")[:, :2]
    out = httpclient.InferRequestedOutput("probs", binary_data=True, class_count=2)
    result = client.infer("digits", [_input("pixels", x, True)], outputs=[out])
    texts = result.as_numpy("probs")
    assert texts.shape == (3, 2)
    for row, best in zip(texts, order):
        assert [t.decode().split(":")[1:] for t in row] == [
            [str(i), digits.labels[i]] for i in best
        ]
    result = client.infer("digits", [_input("pixels", x, True)], parameters={"top_k": 2})
    assert result.as_numpy("top_k_indices").tolist() == order.tolist()
    assert_bitwise(result.as_numpy("top_k_scores"), np.take_along_axis(probs, order, 1))
    labels = [[v.decode() for v in row] for row in result.as_numpy("top_k_labels")]
    assert labels == [[digits.labels[i] for i in best] for best in order]
    client.close()


def test_protocol_errors(server) -> None:
    client = _client(server)
    x = digits_rows(1)
    with pytest.raises(InferenceServerException, match="expected datatype FP32, received 'FP64'"):
        tensor = httpclient.InferInput("pixels", [1, 64], "FP64")
        tensor.set_data_from_numpy(x.astype(np.float64))
        client.infer("digits", [tensor])
    with pytest.raises(
        InferenceServerException, match=r"expected shape \[-1, 64\], received \[1, 32\]"
    ):
        client.infer("digits", [_input("pixels", x[:, :32].copy(), True)])
    with pytest.raises(InferenceServerException, match="unknown input 'image'"):
        client.infer("digits", [_input("image", x, False)])
    with pytest.raises(InferenceServerException, match="unknown output 'logits'"):
        client.infer(
            "digits",
            [_input("pixels", x, False)],
            outputs=[httpclient.InferRequestedOutput("logits")],
        )
    with pytest.raises(InferenceServerException, match="'nope' is not served"):
        client.infer("nope", [_input("pixels", x, False)])
    with pytest.raises(InferenceServerException, match="no version 9"):
        client.infer("digits", [_input("pixels", x, False)], model_version="9")
    client.close()


def test_raw_protocol_errors_have_status_codes(server) -> None:
    url = server.url + "/v2/models/digits/infer"
    doc = {"inputs": [{"name": "pixels", "shape": [1, 64], "datatype": "FP32", "data": [0.5] * 63}]}
    status, _, body = http("POST", url, json.dumps(doc).encode())
    assert status == 400 and "needs 64 values, received 63" in json.loads(body)["error"]
    head = json.dumps(
        {
            "inputs": [
                {
                    "name": "pixels",
                    "shape": [1, 64],
                    "datatype": "FP32",
                    "parameters": {"binary_data_size": 256},
                }
            ]
        }
    ).encode()
    headers = {"Inference-Header-Content-Length": str(len(head))}
    status, _, body = http("POST", url, head + b"\0" * 100, headers)
    assert status == 400 and "runs past the 100 bytes" in json.loads(body)["error"]
    status, _, body = http("POST", url, head + b"\0" * 260, headers)
    assert (
        status == 400 and "4 bytes of binary data that no input claims" in json.loads(body)["error"]
    )
    status, answer = get_json(server.url + "/v2/models/nope")
    assert status == 404 and "error" in answer
    status, _, _ = http("GET", server.url + "/v2/models/digits/versions/2/ready")
    assert status == 404


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
def test_int32_inputs(server, ids_model, binary) -> None:
    client = _client(server)
    ids = ids_rows(4, seed=15)
    tensor = httpclient.InferInput("ids", list(ids.shape), "INT32")
    tensor.set_data_from_numpy(ids, binary_data=binary)
    result = client.infer("ids", [tensor])
    assert_bitwise(result.as_numpy("dense"), ids_model.predict(ids))
    with pytest.raises(InferenceServerException, match="expected datatype INT32, received 'FP32'"):
        wrong = httpclient.InferInput("ids", list(ids.shape), "FP32")
        wrong.set_data_from_numpy(ids.astype(np.float32))
        client.infer("ids", [wrong])
    with pytest.raises(InferenceServerException, match=r"id 99 .* not in \[0, 9\]"):
        bad = ids.copy()
        bad[0, 0] = 99
        tensor.set_data_from_numpy(bad, binary_data=binary)
        client.infer("ids", [tensor])
    client.close()


def test_wrong_methods_get_json_405(server) -> None:
    for method, path in (("POST", "/v2/health/live"), ("GET", "/v2/repository/index")):
        status, _, body = http(method, server.url + path, b"" if method == "POST" else None)
        assert status == 405 and "takes" in json.loads(body)["error"]
    status, _, body = http("DELETE", server.url + "/v2/models/digits/infer")
    assert status == 405 and "infer takes POST, received DELETE" in json.loads(body)["error"]
    status, _, body = http("HEAD", server.url + "/v2/health/ready")
    assert status == 200


@pytest.mark.parametrize(
    ("doc", "headers", "message"),
    [
        ({"name": "pixels", "shape": [1, True], "datatype": "FP32", "data": [0.5]}, {},
         "'shape' must be a list of sizes, received [1, True]"),
        ({"name": "pixels", "shape": [1, -64], "datatype": "FP32", "data": [0.5]}, {},
         "'shape' must be a list of sizes"),
        ({"name": "pixels", "shape": [1, 64], "datatype": "FP32", "parameters": [1]}, {},
         "'input 'pixels' parameters' must be an object, received list"),
        ({"name": "pixels", "shape": [1, 64], "datatype": "FP32", "data": [0.5] * 64},
         {"Inference-Header-Content-Length": "x1"},
         "Inference-Header-Content-Length must be a byte count of at most the body's"),
        ({"name": "pixels", "shape": [1, 64], "datatype": "FP32", "data": [0.5] * 64},
         {"Inference-Header-Content-Length": "100000"}, "received '100000'"),
    ],
    ids=["bool-size", "negative-size", "parameters", "header-length", "header-too-long"],
)  # fmt: skip
def test_inputs_are_checked(server, doc: dict, headers: dict, message: str) -> None:
    url = server.url + "/v2/models/digits/infer"
    status, _, body = http("POST", url, json.dumps({"inputs": [doc]}).encode(), headers)
    assert status == 400 and message in json.loads(body)["error"], body


def test_a_missing_input_is_named(server) -> None:
    tensor = {"name": "in_a", "shape": [1, 8], "datatype": "FP32", "data": [0.5] * 8}
    url = server.url + "/v2/models/multi/infer"
    status, _, body = http("POST", url, json.dumps({"inputs": [tensor]}).encode())
    assert status == 400 and "missing input(s) ['in_b']" in json.loads(body)["error"], body
