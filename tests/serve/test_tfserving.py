"""TF Serving's REST API over plain HTTP, with the request and answer shapes of
TF Serving's documentation (https://www.tensorflow.org/tfx/serving/api_rest):
every prediction is compared bitwise with in-process ``predict``."""

from __future__ import annotations

import numpy as np

from conftest import (
    assert_bitwise,
    digits_rows,
    get_json,
    http,
    ids_rows,
    multi_rows,
    post_json,
)


def test_status_lists_versions_newest_first(server) -> None:
    status, doc = get_json(server.url + "/v1/models/multi")
    assert status == 200
    assert [v["version"] for v in doc["model_version_status"]] == ["2", "1"]
    assert all(v["state"] == "AVAILABLE" for v in doc["model_version_status"])
    assert doc["model_version_status"][0]["status"] == {"error_code": "OK", "error_message": ""}
    status, doc = get_json(server.url + "/v1/models/multi/versions/1")
    assert status == 200 and [v["version"] for v in doc["model_version_status"]] == ["1"]


def test_metadata_describes_the_signature(server) -> None:
    status, doc = get_json(server.url + "/v1/models/digits/metadata")
    assert status == 200
    assert doc["model_spec"] == {"name": "digits", "signature_name": "", "version": "1"}
    sig = doc["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert sig["method_name"] == "tensorflow/serving/predict"
    pixels = sig["inputs"]["pixels"]
    assert pixels["dtype"] == "DT_FLOAT"
    assert [d["size"] for d in pixels["tensor_shape"]["dim"]] == ["-1", "64"]
    assert [d["size"] for d in sig["outputs"]["probs"]["tensor_shape"]["dim"]] == ["-1", "10"]
    status, doc = get_json(server.url + "/v1/models/multi/versions/2/metadata")
    sig = doc["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert sorted(sig["inputs"]) == ["in_a", "in_b"]
    assert sorted(sig["outputs"]) == ["first", "second"]  # the Keras 3 dict keys


def test_row_format_unnamed(server, digits) -> None:
    x = digits_rows(5)
    status, doc = post_json(server.url + "/v1/models/digits:predict", {"instances": x.tolist()})
    assert status == 200 and list(doc) == ["predictions"]
    assert_bitwise(doc["predictions"], digits.predict(x))


def test_row_format_named_and_signature_name(server, digits) -> None:
    x = digits_rows(3, seed=1)
    request = {
        "signature_name": "serving_default",
        "instances": [{"pixels": r} for r in x.tolist()],
    }
    status, doc = post_json(server.url + "/v1/models/digits/versions/1:predict", request)
    assert status == 200
    assert_bitwise(doc["predictions"], digits.predict(x))


def test_columnar_format(server, digits) -> None:
    x = digits_rows(4, seed=2)
    status, doc = post_json(server.url + "/v1/models/digits:predict", {"inputs": x.tolist()})
    assert status == 200 and list(doc) == ["outputs"]
    assert_bitwise(doc["outputs"], digits.predict(x))
    status, doc = post_json(
        server.url + "/v1/models/digits:predict", {"inputs": {"pixels": x.tolist()}}
    )
    assert status == 200
    assert_bitwise(doc["outputs"], digits.predict(x))


def test_multi_io_row_format(server, multi_v1, multi_v2) -> None:
    rows = multi_rows(6)
    instances = [
        {"in_a": a, "in_b": b} for a, b in zip(rows["in_a"].tolist(), rows["in_b"].tolist())
    ]
    # Version 1 (tf_keras .h5): outputs named by their layers.
    status, doc = post_json(
        server.url + "/v1/models/multi/versions/1:predict", {"instances": instances}
    )
    assert status == 200
    expected = dict(zip(["out_b", "out_a"], multi_v1.predict(rows)))
    assert all(set(p) == {"out_a", "out_b"} for p in doc["predictions"])
    for name, want in expected.items():
        assert_bitwise([p[name] for p in doc["predictions"]], want)
    # The latest version (Keras 3 .keras with dict outputs) serves by default.
    status, doc = post_json(server.url + "/v1/models/multi:predict", {"instances": instances})
    assert status == 200
    for name, want in multi_v2.predict(rows).items():
        assert_bitwise([p[name] for p in doc["predictions"]], want)


def test_multi_io_columnar_format(server, multi_v2) -> None:
    rows = multi_rows(3, seed=5)
    request = {"inputs": {k: v.tolist() for k, v in rows.items()}}
    status, doc = post_json(server.url + "/v1/models/multi/versions/2:predict", request)
    assert status == 200 and set(doc["outputs"]) == {"first", "second"}
    for name, want in multi_v2.predict(rows).items():
        assert_bitwise(doc["outputs"][name], want)


def test_top_k_adds_labels_and_scores(server, digits) -> None:
    x = digits_rows(4, seed=3)
    probs = digits.predict(x)
    status, doc = post_json(
        server.url + "/v1/models/digits:predict", {"instances": x.tolist(), "top_k": 3}
    )
    assert status == 200
    order = np.argsort(-probs, axis=1, kind="stable")[:, :3]
    for row, best, p in zip(doc["top_k"], order, probs):
        assert row["indices"] == best.tolist()
        assert row["labels"] == [digits.labels[i] for i in best]
        assert_bitwise(row["scores"], p[best])
    status, doc = post_json(
        server.url + "/v1/models/digits:predict", {"inputs": x.tolist(), "top_k": 2}
    )
    assert doc["top_k"]["indices"] == order[:, :2].tolist()


def test_errors_name_expected_and_received(server) -> None:
    url = server.url + "/v1/models/digits:predict"
    status, doc = post_json(url, {"instances": [[0.0] * 63]})
    assert status == 400 and "expected shape [-1, 64]" in doc["error"] and "[1, 63]" in doc["error"]
    status, doc = post_json(url, {"instances": [["a"] * 64]})
    assert (
        status == 400 and "expected float32 numbers" in doc["error"] and "strings" in doc["error"]
    )
    status, doc = post_json(url, {"instances": [[0.0] * 64], "inputs": [[0.0] * 64]})
    assert status == 400 and "exactly one of 'instances'" in doc["error"]
    status, doc = post_json(url, {"instances": [[0.0] * 64, [0.0] * 3]})
    assert status == 400 and "ragged" in doc["error"]
    status, doc = post_json(url, {"instances": [[0.0] * 64], "signature_name": "other"})
    assert status == 400 and "'other' not found" in doc["error"]
    status, doc = post_json(
        server.url + "/v1/models/multi:predict", {"instances": [{"in_a": [0.0] * 8}]}
    )
    assert status == 400 and "in_b" in doc["error"]
    status, _, body = http(
        "POST", url, b'{"instances": [[0.0, ', {"Content-Type": "application/json"}
    )
    assert status == 400 and b"malformed JSON" in body


def test_unknown_models_and_versions_are_404(server) -> None:
    status, doc = post_json(server.url + "/v1/models/nope:predict", {"instances": [[0.0]]})
    assert status == 404 and "'nope' is not served" in doc["error"] and "digits" in doc["error"]
    status, doc = get_json(server.url + "/v1/models/multi/versions/7")
    assert status == 404 and "no version 7" in doc["error"] and "1, 2" in doc["error"]
    status, doc = get_json(server.url + "/v1/models/digits:predict")
    assert status == 405
    status, doc = post_json(server.url + "/v1/models/digits:classify", {"examples": []})
    assert status == 400 and "classify" in doc["error"]
    status, doc = get_json(server.url + "/nothing/here")
    assert status == 404 and "error" in doc


def test_int32_inputs(server, ids_model) -> None:
    ids = ids_rows(5, seed=7)
    status, doc = post_json(server.url + "/v1/models/ids:predict", {"instances": ids.tolist()})
    assert status == 200
    assert_bitwise(doc["predictions"], ids_model.predict(ids))
    status, doc = post_json(server.url + "/v1/models/ids:predict", {"instances": [[0.5] * 5]})
    assert status == 400 and "expected int32 integers, received floats" in doc["error"]
    status, doc = post_json(
        server.url + "/v1/models/ids:predict", {"instances": [[3, 2, 1, 0, 10]]}
    )
    assert status == 400 and "id 10" in doc["error"] and "not in [0, 9]" in doc["error"]
