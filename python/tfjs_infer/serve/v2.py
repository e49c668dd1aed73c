"""The Open Inference Protocol v2 over HTTP (KServe v2, Triton's HTTP API).

    GET  /v2  /v2/health/live  /v2/health/ready
    GET  /v2/models/{name}[/versions/{v}]          model metadata
    GET  /v2/models/{name}[/versions/{v}]/ready    model readiness
    GET  /v2/models/{name}[/versions/{v}]/config   Triton's model configuration
    POST /v2/models/{name}[/versions/{v}]/infer    inference
    POST /v2/repository/index                      the served models

Inference takes JSON tensors and the binary tensor data extension: with an
``Inference-Header-Content-Length`` header the body is that many bytes of
JSON, then each input whose ``parameters.binary_data_size`` is set, in
order. Outputs come back binary when the request asks (``binary_data_output``
for all, or ``parameters.binary_data`` per requested output). Triton's
classification extension (``parameters.classification: K`` on an output)
and our ``parameters.top_k`` (extra outputs ``top_k_indices``,
``top_k_scores``, ``top_k_labels``) rank classes.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple, TypeGuard

import numpy as np

from .. import __version__
from .codec import (
    V2_TO_NUMPY,
    RequestError,
    bad_request,
    bytes_tensor_binary,
    dump_json,
    format_shape,
    little_endian_bytes,
    parse_json,
    tensor_from_bytes,
    tensor_from_v2_data,
    v2_datatype,
)
from .common import Server, note_model, rank
from .repository import ServedModel

_PATH = re.compile(r"^(?P<name>[^/]+)(?:/versions/(?P<version>[^/]+))?(?P<tail>/\w+)?$")
_ACTIONS = {"": ("metadata", "GET"), "/ready": ("ready", "GET"), "/config": ("config", "GET")}
_ACTIONS["/infer"] = ("infer", "POST")
EXTENSIONS = ["binary_tensor_data", "classification", "parameters"]

HEADER_LENGTH = "inference-header-content-length"


def server_metadata() -> dict[str, Any]:
    """``GET /v2``."""
    return {"name": "tfjs-infer", "version": __version__, "extensions": EXTENSIONS}


def route(server: Server, method: str, rest: str, info: dict[str, Any]) -> tuple[str, ServedModel]:
    """Resolve ``/v2/models/{rest}`` to (action, model); 404/405 otherwise."""
    match = _PATH.match(rest)
    action = _ACTIONS.get(match["tail"] or "") if match else None
    if match is None or action is None:
        raise RequestError(
            404, f"unknown path /v2/models/{rest}; expected /v2/models/NAME[/versions/N]"
            "[/ready|/infer|/config]"
        )  # fmt: skip
    served = server.repository.get(match["name"], match["version"])
    note_model(info, served)
    if method != action[1]:
        raise RequestError(405, f"{action[0]} takes {action[1]}, received {method}")
    return action[0], served


def model_metadata(server: Server, served: ServedModel, one_version: bool) -> dict[str, Any]:
    """``GET /v2/models/{name}[/versions/{v}]``."""
    versions = [served.version] if one_version else sorted(server.repository.versions(served.name))
    return {
        "name": served.name,
        "versions": [str(v) for v in versions],
        "platform": "tfjs-infer",
        "inputs": _tensors(served.input_names, served.model.inputs),
        "outputs": _tensors(served.output_names, served.model.outputs),
    }


def model_config(served: ServedModel, max_batch_size: int) -> dict[str, Any]:
    """Triton's ``/config`` view (what tritonclient's get_model_config reads)."""

    def dims(shape: Any) -> list[int]:
        return format_shape(shape[1:])

    return {
        "name": served.name,
        "platform": "tfjs-infer",
        "backend": "tfjs-infer",
        "max_batch_size": max_batch_size,
        "input": [
            {"name": n, "data_type": "TYPE_" + v2_datatype(t.dtype), "dims": dims(t.shape)}
            for n, t in zip(served.input_names, served.model.inputs)
        ],
        "output": [
            {"name": n, "data_type": "TYPE_" + v2_datatype(t.dtype), "dims": dims(t.shape)}
            for n, t in zip(served.output_names, served.model.outputs)
        ],
        "dynamic_batching": {},
    }


def repository_index(server: Server) -> list[dict[str, Any]]:
    """``POST /v2/repository/index``: every served model version, READY."""
    return [
        {"name": s.name, "version": str(s.version), "state": "READY"} for s in server.repository
    ]


def _tensors(names: list[str], infos: Any) -> list[dict[str, Any]]:
    return [
        {"name": n, "datatype": v2_datatype(t.dtype), "shape": format_shape(t.shape)}
        for n, t in zip(names, infos)
    ]


class InferRequest(NamedTuple):
    """A parsed inference request: its JSON header, input arrays, parameters and
    the outputs it asks for as (name, binary, classification count)."""

    doc: dict[str, Any]
    arrays: list[np.ndarray]
    params: dict[str, Any]
    requested: list[tuple[str, bool, int]]


async def infer(
    server: Server,
    served: ServedModel,
    body: bytes,
    header_length: str | None,
    info: dict[str, Any],
) -> tuple[bytes, dict[str, str]]:
    """Inference: the answer's bytes (JSON, or JSON + binary data) and extra headers."""
    request = parse_infer(served, body, header_length)
    result = await server.infer(served, request.arrays, info)
    return encode_infer(served, request, result.outputs)


class _Layout(NamedTuple):
    """A binary request's JSON header, checked: what it asks, and where each of the
    model's inputs lies in the binary data (offset, size, shape, datatype, name)."""

    doc: dict[str, Any]
    params: dict[str, Any]
    requested: list[tuple[str, bool, int]]
    slices: list[tuple[int, int, list[int], str, str]]
    binary_bytes: int


# Clients send the same JSON header with every binary request of one shape: a
# header checked once is remembered (per model, at most MAX_LAYOUTS headers of
# at most MAX_LAYOUT_BYTES each) and the next request with the same header
# bytes and binary length only cuts its tensors out of the binary data.
MAX_LAYOUTS = 64
MAX_LAYOUT_BYTES = 4096


def parse_infer(served: ServedModel, body: bytes, header_length: str | None) -> InferRequest:
    """The request body (JSON, or JSON + binary tensors) checked against the model (400 if not)."""
    if header_length is None:
        doc, binary = parse_json(body), _NO_BINARY
        plain = _plain_json(served, doc)
        if plain is not None:
            return plain
    else:
        known = _known_layout(served, body, header_length)
        if known is not None:
            return known
        doc, binary = _split_body(body, header_length)
    if not isinstance(doc, dict):
        raise bad_request(f"expected a JSON object, received a JSON {type(doc).__name__}")
    slices: dict[str, tuple[int, int, list[int], str, str]] = {}
    arrays = _inputs(served, doc.get("inputs"), binary, slices)
    params = _object(doc.get("parameters"), "parameters")
    requested = _requested_outputs(served, doc.get("outputs"), params)
    if header_length is not None and len(slices) == len(arrays):  # every input binary
        _remember_layout(served, body, _Layout(doc, params, requested, [], len(binary)), slices)
    return InferRequest(doc, arrays, params, requested)


_NO_BINARY = memoryview(b"")  # a JSON-only request's binary data


def _plain_json(served: ServedModel, doc: Any) -> InferRequest | None:
    """The most common JSON request, ``{"inputs": [...]}`` alone, holding the
    model's inputs in order, each exactly ``name``, ``shape``, ``datatype`` and
    ``data``: checked in fewer steps, as the general checks would check it (an
    input's data is converted, or refused, by the same function); None for
    any other request, which the general checks then read (and name what is
    wrong)."""
    if type(doc) is not dict or len(doc) != 1:
        return None
    inputs = doc.get("inputs")
    specs = served.inputs
    if type(inputs) is not list or len(inputs) != len(specs):
        return None
    arrays = []
    for tensor, spec in zip(inputs, specs):
        if type(tensor) is not dict or len(tensor) != 4 or tensor.get("name") != spec.name:
            return None
        shape = tensor.get("shape")
        datatype = tensor.get("datatype")
        if datatype != v2_datatype(spec.dtype) or "data" not in tensor or not _is_sizes(shape):
            return None
        arrays.append(tensor_from_v2_data(tensor["data"], shape, datatype, spec.name))
    return InferRequest(doc, arrays, {}, _requested_outputs(served, None, {}))


def _remember_layout(
    served: ServedModel,
    body: bytes,
    layout: _Layout,
    slices: dict[str, tuple[int, int, list[int], str, str]],
) -> None:
    """Remember a checked binary request's header (see MAX_LAYOUTS)."""
    header_bytes = len(body) - layout.binary_bytes
    layouts = served.v2_layouts
    if header_bytes <= MAX_LAYOUT_BYTES and len(layouts) < MAX_LAYOUTS:
        layout.slices.extend(slices[n] for n in served.input_names)
        layouts[body[:header_bytes]] = layout


def _known_layout(served: ServedModel, body: bytes, header_length: str) -> InferRequest | None:
    """The request, if its header is one checked before and its binary data has the
    length that header gives (else None: the whole body is checked)."""
    if not served.v2_layouts or not header_length or not header_length.isdigit():
        return None
    n = int(header_length)
    layout = served.v2_layouts.get(body[:n])
    if layout is None or len(body) - n != layout.binary_bytes:
        return None
    binary = memoryview(body)[n:]
    arrays = [
        tensor_from_bytes(binary[offset : offset + size], shape, datatype, name)
        for offset, size, shape, datatype, name in layout.slices
    ]
    return InferRequest(layout.doc, arrays, layout.params, layout.requested)


def encode_infer(
    served: ServedModel, request: InferRequest, model_outputs: list[np.ndarray]
) -> tuple[bytes, dict[str, str]]:
    """The answer's bytes (JSON, or JSON + binary data) and its extra headers."""
    params = request.params
    outputs: list[tuple[str, np.ndarray, bool, int]] = []  # name, array, binary, classification
    for name, binary_out, classes in request.requested:
        outputs.append((name, model_outputs[served.output_names.index(name)], binary_out, classes))
    extra = _top_k_outputs(served, model_outputs, params) if "top_k" in params else []
    default_binary = bool(params.get("binary_data_output", False))
    answer: dict[str, Any] = {"model_name": served.name, "model_version": str(served.version)}
    doc = request.doc
    if "id" in doc:
        answer["id"] = doc["id"]
    tensors: list[dict[str, Any]] = []
    chunks: list[bytes] = []
    for name, arr, binary_out, classes in outputs:
        if classes:
            arr = _classification(served, arr, classes)
        tensors.append(_output_tensor(name, arr, binary_out, chunks))
    for name, arr in extra:
        tensors.append(_output_tensor(name, arr, default_binary, chunks))
    answer["outputs"] = tensors
    head = dump_json(answer)
    if not chunks:
        return head, {}
    return head + b"".join(chunks), {
        "Inference-Header-Content-Length": str(len(head)),
        "Content-Type": "application/octet-stream",
    }


def _split_body(body: bytes, header_length: str | None) -> tuple[Any, memoryview]:
    if header_length is None:
        return parse_json(body), memoryview(b"")
    n = int(header_length) if header_length.isdigit() else -1
    if n < 0 or n > len(body):
        raise bad_request(
            f"Inference-Header-Content-Length must be a byte count of at most the body's "
            f"{len(body)} bytes, received '{header_length}'"
        )
    return parse_json(body[:n], "inference header"), memoryview(body)[n:]


def _object(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise bad_request(f"'{what}' must be an object, received {type(value).__name__}")
    return value


def _inputs(
    served: ServedModel,
    inputs: Any,
    binary: memoryview,
    slices: dict[str, tuple[int, int, list[int], str, str]],
) -> list[np.ndarray]:
    """Match the request's tensors to the model's inputs, by name, checking each;
    note in `slices` where each binary one lies (offset, size, shape, datatype, name)."""
    if not isinstance(inputs, list) or not inputs:
        raise bad_request("'inputs' must be a non-empty list of tensors")
    found: dict[str, np.ndarray] = {}
    offset = 0
    specs = served.input_specs
    for tensor in inputs:
        if not isinstance(tensor, dict):
            raise bad_request("each entry of 'inputs' must be an object")
        name = tensor.get("name")
        if name not in specs:
            raise bad_request(
                f"unknown input '{name}'; the model's inputs are {served.input_names}"
            )
        if name in found:
            raise bad_request(f"input '{name}' is given twice")
        spec = specs[name]
        shape = tensor.get("shape")
        if not _is_sizes(shape):
            raise bad_request(
                f"input '{name}': 'shape' must be a list of sizes, received {shape!r}"
            )
        datatype = tensor.get("datatype")
        want = v2_datatype(spec.dtype)
        if datatype != want:
            known = datatype in V2_TO_NUMPY or datatype == "BYTES"
            got = f"'{datatype}'" if known else f"unknown datatype {datatype!r}"
            raise bad_request(f"input '{name}': expected datatype {want}, received {got}")
        params = tensor.get("parameters")
        if params is not None and not isinstance(params, dict):  # message built only here
            _object(params, f"input '{name}' parameters")
        size = None if params is None else params.get("binary_data_size")
        if size is not None:
            if not isinstance(size, int) or size < 0 or offset + size > len(binary):
                raise bad_request(
                    f"input '{name}': binary_data_size {size!r} runs past the "
                    f"{len(binary)} bytes of binary data"
                )
            found[name] = tensor_from_bytes(binary[offset : offset + size], shape, datatype, name)
            slices[name] = (offset, size, shape, datatype, name)
            offset += size
        elif "data" in tensor:
            found[name] = tensor_from_v2_data(tensor["data"], shape, datatype, name)
        else:
            raise bad_request(f"input '{name}' has neither 'data' nor binary_data_size")
    if offset != len(binary):
        raise bad_request(
            f"the body holds {len(binary) - offset} bytes of binary data that no input claims"
        )
    missing = [n for n in served.input_names if n not in found] if len(found) < len(specs) else []
    if missing:
        raise bad_request(
            f"missing input(s) {missing}; the model's inputs are {served.input_names}"
        )
    return [found[n] for n in served.input_names]


def _is_sizes(shape: Any) -> TypeGuard[list[int]]:
    """Whether `shape` is a list of sizes (JSON integers >= 0; true/false are not)."""
    if not isinstance(shape, list):
        return False
    for d in shape:  # noqa: SIM110 (a generator costs more than a shape's few sizes)
        if type(d) is not int or d < 0:
            return False
    return True


def _requested_outputs(
    served: ServedModel, outputs: Any, params: dict[str, Any]
) -> list[tuple[str, bool, int]]:
    """(name, binary, classification count) for each output to return."""
    default_binary = bool(params.get("binary_data_output", False)) if params else False
    if outputs is None:
        every = served.v2_every_output.get(default_binary)
        if every is None:
            every = served.v2_every_output[default_binary] = [
                (n, default_binary, 0) for n in served.output_names
            ]
        return every  # shared: nobody changes it
    if not isinstance(outputs, list):
        raise bad_request("'outputs' must be a list of requested outputs")
    chosen = []
    for entry in outputs:
        name = entry.get("name") if isinstance(entry, dict) else None
        if name not in served.output_names:
            raise bad_request(
                f"unknown output '{name}'; the model's outputs are {served.output_names}"
            )
        p = _object(entry.get("parameters"), f"output '{name}' parameters")
        classes = p.get("classification", 0)
        if isinstance(classes, bool) or not isinstance(classes, int) or classes < 0:
            raise bad_request(
                f"output '{name}': classification must be a count, received {classes!r}"
            )
        chosen.append((name, bool(p.get("binary_data", default_binary)), classes))
    return chosen


def _top_k_outputs(
    served: ServedModel, outs: list[np.ndarray], params: dict[str, Any]
) -> list[tuple[str, np.ndarray]]:
    if "top_k" not in params:
        return []
    best, _ = rank(served, outs, params["top_k"])
    extra = [
        ("top_k_indices", best.indices.astype(np.int64)),
        ("top_k_scores", best.scores),
    ]
    if best.labels is not None:
        extra.append(("top_k_labels", np.array(best.labels, dtype=object)))
    return extra


def _classification(served: ServedModel, arr: np.ndarray, k: int) -> np.ndarray:
    """Triton's classification extension: "score:index[:label]" strings, best first."""
    from ..postprocess import top_k

    if arr.ndim < 2 or k > arr.shape[-1]:
        raise bad_request(f"classification {k}: the output has shape {list(arr.shape)}")
    labels = served.model.labels
    use = labels if labels is not None and len(labels) == arr.shape[-1] else None
    best = top_k(arr, k=k, labels=use)
    flat_s = best.scores.reshape(-1).tolist()
    flat_i = best.indices.reshape(-1).tolist()
    flat_l = np.array(best.labels, dtype=object).reshape(-1).tolist() if use else None
    texts = [
        f"{s:f}:{i}" + (f":{flat_l[n]}" if flat_l else "")
        for n, (s, i) in enumerate(zip(flat_s, flat_i))
    ]
    return np.array(texts, dtype=object).reshape(best.indices.shape)


def _output_tensor(name: str, arr: np.ndarray, binary: bool, chunks: list[bytes]) -> dict[str, Any]:
    """One output in the answer: JSON data, or parameters.binary_data_size and a chunk."""
    is_bytes = arr.dtype.kind == "O"
    tensor: dict[str, Any] = {
        "name": name,
        "datatype": "BYTES" if is_bytes else v2_datatype(arr.dtype),
        "shape": list(arr.shape),
    }
    if binary:
        if is_bytes:
            raw = bytes_tensor_binary([str(v) for v in arr.reshape(-1)])
        else:
            raw = little_endian_bytes(arr)
        tensor["parameters"] = {"binary_data_size": len(raw)}
        chunks.append(raw)
    else:
        tensor["data"] = arr.reshape(-1).tolist()
    return tensor
