"""OIP v2 JSON requests of the common form (``{"inputs": [...]}`` alone, each
input exactly name, shape, datatype and data, in the model's order) are read
by a shorter check (v2._plain_json): it must give what the general checks
give, arrays and errors alike, and leave every other form to them."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

import tfjs_infer as ti
from conftest import MULTI_V1, digits_rows, multi_rows
from tfjs_infer.serve import v2
from tfjs_infer.serve.codec import RequestError
from tfjs_infer.serve.repository import ServedModel, open_repository


def _served(path: Any, name: str) -> ServedModel:
    return next(iter(open_repository(str(path), name)))


def _tensor(name: str, x: Any, datatype: str = "FP32", shape: Any = None) -> dict[str, Any]:
    data = np.asarray(x).reshape(-1).tolist() if isinstance(x, np.ndarray) else x
    size = list(np.shape(x)) if shape is None else shape
    return {"name": name, "shape": size, "datatype": datatype, "data": data}


def _both(served: ServedModel, doc: Any, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """[as parsed, as parsed by the general checks alone]: the request or the error."""
    body = json.dumps(doc).encode()
    results = []
    for plain in (True, False):
        with monkeypatch.context() as patch:
            if not plain:
                patch.setattr(v2, "_plain_json", lambda served, doc: None)
            try:
                results.append(v2.parse_infer(served, body, None))
            except RequestError as exc:
                results.append((exc.status, exc.message))
    return results


def _same(a: Any, b: Any) -> None:
    if isinstance(a, tuple) and not isinstance(a, v2.InferRequest):
        assert a == b
        return
    assert a.doc == b.doc and a.params == b.params and a.requested == b.requested
    assert len(a.arrays) == len(b.arrays)
    for x, y in zip(a.arrays, b.arrays):
        assert x.dtype == y.dtype and x.shape == y.shape and x.flags.c_contiguous
        assert x.tobytes() == y.tobytes()


def test_plain_requests_read_as_the_general_checks_read_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    digits = _served(ti.examples.digits_path(), "digits")
    x = digits_rows(3, seed=400)
    nested = _tensor("pixels", x) | {"data": x.tolist()}
    docs = [
        {"inputs": [_tensor("pixels", x)]},
        {"inputs": [nested]},
        {"inputs": [_tensor("pixels", x.astype(np.float64).round().astype(int))]},
        {"inputs": [_tensor("pixels", x, shape=[3, 63])]},  # wrong shape for the data
        {"inputs": [_tensor("pixels", x, shape=[3, -64])]},
        {"inputs": [_tensor("pixels", x, datatype="FP64")]},
        {"inputs": [_tensor("pixels", ["a"] * 64, shape=[1, 64])]},
        {"inputs": [_tensor("pixels", [True] * 64, shape=[1, 64])]},
        {"inputs": [_tensor("pixels", [[1.0] * 64, [1.0]], shape=[2, 64])]},  # ragged
        {"inputs": [_tensor("pixel", x)]},
        {"inputs": [_tensor("pixels", x) | {"parameters": {}}]},
        {"inputs": [_tensor("pixels", x)], "id": "7"},
        {"inputs": []},
        {"inputs": {"pixels": 1}},
    ]
    for doc in docs:
        plain, general = _both(digits, doc, monkeypatch)
        _same(plain, general)
    multi = _served(MULTI_V1, "multi")
    rows = multi_rows(2, seed=401)
    tensors = [_tensor(name, rows[name]) for name in multi.input_names]
    for order in (tensors, tensors[::-1], tensors[:1]):
        plain, general = _both(multi, {"inputs": order}, monkeypatch)
        _same(plain, general)


def test_the_plain_form_takes_the_shorter_check(monkeypatch: pytest.MonkeyPatch) -> None:
    digits = _served(ti.examples.digits_path(), "digits")
    x = digits_rows(1, seed=402)
    taken = []
    plain = v2._plain_json

    def spy(served: ServedModel, doc: Any) -> Any:
        result = plain(served, doc)
        taken.append(result is not None)
        return result

    monkeypatch.setattr(v2, "_plain_json", spy)
    for doc in ({"inputs": [_tensor("pixels", x)]}, {"inputs": [_tensor("pixels", x)], "id": "1"}):
        v2.parse_infer(digits, json.dumps(doc).encode(), None)
    assert taken == [True, False]
