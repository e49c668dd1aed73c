"""TensorFlow Serving's REST API (``/v1/models/...``).

    GET  /v1/models/{name}[/versions/{v}]            model status
    GET  /v1/models/{name}[/versions/{v}]/metadata   signature of serving_default
    POST /v1/models/{name}[/versions/{v}]:predict    row ("instances") or columnar ("inputs")

Answers are shaped as TF Serving shapes them: the row format answers
``{"predictions": [...]}`` (one entry per row; a dict of outputs per row for
multi-output models), the columnar format ``{"outputs": ...}`` (the tensor,
or a dict of tensors). Errors are ``{"error": "..."}`` with TF Serving's
status codes (400 invalid argument, 404 not found). An extra ``"top_k": K``
beside ``instances``/``inputs`` adds the K best classes with their labels.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

import numpy as np

from .codec import (
    TF_DTYPES,
    RequestError,
    bad_request,
    dump_json,
    json_tensor,
    parse_json,
)
from .common import Server, note_model, rank
from .repository import ServedModel

_PATH = re.compile(r"^(?P<name>[^/:]+)(?:/versions/(?P<version>[^/:]+))?(?P<tail>/metadata|:\w+)?$")
_SIGNATURES = ("", "serving_default")
_FIELDS = frozenset({"signature_name", "instances", "inputs", "top_k"})


def route(server: Server, method: str, rest: str, info: dict[str, Any]) -> tuple[str, ServedModel]:
    """Resolve ``/v1/models/{rest}`` to (action, model); 404/405 otherwise."""
    match = _PATH.match(rest)
    if match is None:
        raise RequestError(
            404, f"unknown path /v1/models/{rest}; expected /v1/models/NAME[/versions/N]"
            "[/metadata|:predict]"
        )  # fmt: skip
    tail = match["tail"] or ""
    served = server.repository.get(match["name"], match["version"])
    note_model(info, served)
    action = {"": "status", "/metadata": "metadata", ":predict": "predict"}.get(tail)
    if action is None:
        raise bad_request(f"'{tail[1:]}' is not supported here; this server answers :predict")
    want = "POST" if action == "predict" else "GET"
    if method != want:
        raise RequestError(405, f"{action} takes {want}, received {method}")
    if action == "status" and match["version"] is None:
        return "status_all", served
    return action, served


def status(server: Server, served: ServedModel, every_version: bool) -> dict[str, Any]:
    """GetModelStatus: every served version is AVAILABLE (loading happens before serving)."""
    versions = server.repository.versions(served.name) if every_version else {served.version: 0}
    return {
        "model_version_status": [
            {
                "version": str(v),
                "state": "AVAILABLE",
                "status": {"error_code": "OK", "error_message": ""},
            }
            for v in sorted(versions, reverse=True)
        ]
    }


def metadata(served: ServedModel) -> dict[str, Any]:
    """GetModelMetadata: the serving_default signature's inputs and outputs."""
    model = served.model

    def tensor(name: str, shape: Any, dtype: str) -> dict[str, Any]:
        dims = [{"size": str(-1 if d is None else d), "name": ""} for d in shape]
        return {
            "dtype": TF_DTYPES.get(dtype, dtype),
            "tensor_shape": {"dim": dims, "unknown_rank": False},
            "name": name,
        }

    signature = {
        "inputs": {t.name: tensor(t.name, t.shape, t.dtype) for t in model.inputs},
        "outputs": {
            n: tensor(n, t.shape, t.dtype) for n, t in zip(served.output_names, model.outputs)
        },
        "method_name": "tensorflow/serving/predict",
        "defaults": {},
    }
    return {
        "model_spec": {"name": served.name, "signature_name": "", "version": str(served.version)},
        "metadata": {"signature_def": {"signature_def": {"serving_default": signature}}},
    }


class PredictRequest(NamedTuple):
    """A parsed predict request: the document, the model's input arrays, its format."""

    doc: dict[str, Any]
    arrays: list[np.ndarray]
    row_format: bool


async def predict(server: Server, served: ServedModel, body: bytes, info: dict[str, Any]) -> bytes:
    """Predict: parse the row or columnar request, infer, shape the answer like TF
    Serving (the JSON bytes)."""
    request = parse_predict(served, body)
    result = await server.infer(served, request.arrays, info)
    return encode_predict(served, request, result.outputs)


def parse_predict(served: ServedModel, body: bytes) -> PredictRequest:
    """The request body checked and turned into the model's input arrays (400 if not)."""
    doc = parse_json(body)
    if not isinstance(doc, dict):
        raise bad_request(f"expected a JSON object, received a JSON {type(doc).__name__}")
    signature = doc.get("signature_name", "")
    if signature not in _SIGNATURES:
        raise bad_request(
            f"signature_name '{signature}' not found; this model has 'serving_default'"
        )
    if not doc.keys() <= _FIELDS:
        unknown = set(doc) - _FIELDS
        raise bad_request(
            f"unknown request field(s) {sorted(unknown)}; expected 'instances' or 'inputs' "
            "(and optionally 'signature_name', 'top_k')"
        )
    if ("instances" in doc) == ("inputs" in doc):
        raise bad_request(
            "the request must hold exactly one of 'instances' (row format) or 'inputs' "
            f"(columnar format); received {sorted(set(doc) & {'instances', 'inputs'}) or 'none'}"
        )
    row_format = "instances" in doc
    arrays = _rows(served, doc["instances"]) if row_format else _columns(served, doc["inputs"])
    return PredictRequest(doc, arrays, row_format)


def encode_predict(served: ServedModel, request: PredictRequest, outs: list[np.ndarray]) -> bytes:
    """The answer to `request` as TF Serving shapes it (JSON bytes), top_k included."""
    names = served.output_names
    answer: dict[str, Any]
    if request.row_format:
        if len(outs) == 1:
            answer = {"predictions": outs[0].tolist()}
        else:
            columns = [o.tolist() for o in outs]
            answer = {"predictions": [dict(zip(names, row)) for row in zip(*columns)]}
    else:
        single = len(outs) == 1
        answer = {
            "outputs": outs[0].tolist() if single else {n: o.tolist() for n, o in zip(names, outs)}
        }
    if "top_k" in request.doc:
        answer["top_k"] = _top_k(served, outs, request.doc["top_k"], request.row_format)
    return dump_json(answer)


def _rows(served: ServedModel, instances: Any) -> list[np.ndarray]:
    """The row format: one entry per row, a dict by input name or a bare value."""
    if not isinstance(instances, list) or not instances:
        raise bad_request("'instances' must be a non-empty list with one entry per row")
    named = isinstance(instances[0], dict)
    if len(instances) > 1 and any(isinstance(r, dict) != named for r in instances):
        raise bad_request("'instances' mixes named (objects) and unnamed rows; use one form")
    if not named:
        if len(served.inputs) != 1:
            raise bad_request(
                f"the model has {len(served.inputs)} inputs {served.input_names}: each instance "
                "must be an object naming them"
            )
        spec = served.inputs[0]
        return [json_tensor(instances, spec.dtype, spec.name)]
    for i, row in enumerate(instances):
        if set(row) != set(served.input_names):
            raise bad_request(
                f"instance {i} names inputs {sorted(row)}; the model's inputs are "
                f"{served.input_names}"
            )
    return [json_tensor([r[t.name] for r in instances], t.dtype, t.name) for t in served.inputs]


def _columns(served: ServedModel, inputs: Any) -> list[np.ndarray]:
    """The columnar format: one tensor, or an object of tensors by input name."""
    names = served.input_names
    if isinstance(inputs, dict) and (len(names) > 1 or set(inputs) == set(names)):
        if set(inputs) != set(names):
            raise bad_request(f"'inputs' names {sorted(inputs)}; the model's inputs are {names}")
        return [json_tensor(inputs[t.name], t.dtype, t.name) for t in served.inputs]
    if len(names) != 1:
        raise bad_request(f"the model has inputs {names}: 'inputs' must be an object naming them")
    spec = served.inputs[0]
    return [json_tensor(inputs, spec.dtype, spec.name)]


def _top_k(served: ServedModel, outs: list[np.ndarray], k: Any, row_format: bool) -> Any:
    best, _ = rank(served, outs, k)
    columns = {"indices": best.indices.tolist(), "scores": best.scores.tolist()}
    if best.labels is not None:
        columns["labels"] = best.labels
    if not row_format:
        return columns
    keys = list(columns)
    return [dict(zip(keys, row)) for row in zip(*columns.values())]
