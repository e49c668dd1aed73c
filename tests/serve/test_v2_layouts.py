"""OIP v2 binary request headers checked once (v2.parse_infer's layouts): a
request with a header seen before takes its tensors from its own binary data,
and anything that differs from the header's promise is checked in full, with
the same errors as the first time."""

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


def _binary_request(tensors: dict[str, np.ndarray], extra: Any = None) -> tuple[bytes, str]:
    """(body, Inference-Header-Content-Length) with every tensor as binary data."""
    inputs = [
        {"name": k, "shape": list(v.shape), "datatype": "FP32"}
        | {"parameters": {"binary_data_size": v.nbytes}}
        for k, v in tensors.items()
    ]
    head = json.dumps({"inputs": inputs, **(extra or {})}).encode()
    return head + b"".join(v.tobytes() for v in tensors.values()), str(len(head))


def _parses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the JSON headers v2 parses."""
    calls: list[int] = []
    parse = v2.parse_json

    def counted(body: bytes, what: str = "request body") -> Any:
        calls.append(1)
        return parse(body, what)

    monkeypatch.setattr(v2, "parse_json", counted)
    return calls


def test_a_known_header_takes_new_data(monkeypatch: pytest.MonkeyPatch) -> None:
    served = _served(ti.examples.digits_path(), "digits")
    calls = _parses(monkeypatch)
    for seed in range(3):
        x = digits_rows(2, seed=seed)
        body, length = _binary_request({"pixels": x}, {"id": "a", "parameters": {"top_k": 2}})
        request = v2.parse_infer(served, body, length)
        assert (request.arrays[0] == x).all() and request.arrays[0].shape == (2, 64)
        assert request.doc["id"] == "a" and request.params == {"top_k": 2}
    assert len(calls) == 1 and len(served.v2_layouts) == 1


def test_a_known_header_with_other_data_lengths_is_checked_in_full() -> None:
    fresh = _served(ti.examples.digits_path(), "digits")
    served = _served(ti.examples.digits_path(), "digits")
    body, length = _binary_request({"pixels": digits_rows(1)})
    v2.parse_infer(served, body, length)
    for bad in (body[:-4], body + b"\0" * 4, body[: int(length) - 1]):
        errors = []
        for model in (fresh, served):  # never seen this header / seen it
            with pytest.raises(RequestError) as caught:
                v2.parse_infer(model, bad, length)
            errors.append((caught.value.status, caught.value.message))
        assert errors[0] == errors[1] and errors[0][0] == 400


def test_inputs_come_in_the_models_order() -> None:
    served = _served(MULTI_V1, "multi")
    rows = multi_rows(2, seed=8)
    body, length = _binary_request({"in_b": rows["in_b"], "in_a": rows["in_a"]})
    for _ in range(2):  # checked, then known
        request = v2.parse_infer(served, body, length)
        assert [a.tolist() for a in request.arrays] == [
            rows[n].tolist() for n in served.input_names
        ]
    assert len(served.v2_layouts) == 1


def test_json_data_and_too_many_headers_are_not_remembered() -> None:
    served = _served(ti.examples.digits_path(), "digits")
    tensor = {"name": "pixels", "shape": [1, 64], "datatype": "FP32", "data": [0.5] * 64}
    head = json.dumps({"inputs": [tensor]}).encode()
    v2.parse_infer(served, head, str(len(head)))
    assert not served.v2_layouts
    for i in range(v2.MAX_LAYOUTS + 5):
        body, length = _binary_request({"pixels": digits_rows(1)}, {"id": str(i)})
        v2.parse_infer(served, body, length)
    assert len(served.v2_layouts) == v2.MAX_LAYOUTS
