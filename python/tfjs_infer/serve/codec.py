"""Tensors on the wire: JSON values, OIP v2 datatypes and binary tensor data.

Both protocols carry numbers as JSON; OIP v2 may also carry raw little-endian
bytes after the JSON header (the binary tensor data extension). Everything
here checks what it receives against what the model expects and raises
:class:`RequestError` naming both; nothing here knows HTTP.
"""

from __future__ import annotations

import functools
import json
import math
import struct
import sys
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np

try:
    import orjson as _orjson
except ImportError:  # the standard parser does the same, slower
    _orjson = None  # type: ignore[assignment]

# OIP v2 datatype names <-> numpy dtypes (little-endian, as the protocol says).
V2_TO_NUMPY: dict[str, np.dtype] = {
    "BOOL": np.dtype(np.bool_),
    "UINT8": np.dtype("<u1"),
    "UINT16": np.dtype("<u2"),
    "UINT32": np.dtype("<u4"),
    "UINT64": np.dtype("<u8"),
    "INT8": np.dtype("<i1"),
    "INT16": np.dtype("<i2"),
    "INT32": np.dtype("<i4"),
    "INT64": np.dtype("<i8"),
    "FP16": np.dtype("<f2"),
    "FP32": np.dtype("<f4"),
    "FP64": np.dtype("<f8"),
}
NUMPY_TO_V2 = {dt.str if dt.itemsize > 1 else dt.name: name for name, dt in V2_TO_NUMPY.items()}
# TF Serving's metadata names the dtypes of TensorFlow's DataType enum.
TF_DTYPES = {"float32": "DT_FLOAT", "int32": "DT_INT32"}


class RequestError(Exception):
    """A request the server cannot answer: HTTP status and a message for the client."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def bad_request(message: str) -> RequestError:
    """A 400 error (INVALID_ARGUMENT in TF Serving's terms)."""
    return RequestError(400, message)


@functools.lru_cache(maxsize=64)
def v2_datatype(dtype: str | np.dtype) -> str:
    """The OIP v2 datatype name of a numpy dtype ("float32" -> "FP32")."""
    dt = np.dtype(dtype)
    key = dt.newbyteorder("<").str if dt.itemsize > 1 else dt.name
    return NUMPY_TO_V2[key]


def parse_json(body: bytes, what: str = "request body") -> Any:
    """Decode JSON, or raise a 400 that quotes the parser's complaint.

    orjson (in the serve extra) reads number-heavy bodies about 3x faster;
    what it refuses (NaN and Infinity tokens, integers past 64 bits, and
    malformed JSON) goes to the standard parser, so both accept the same
    documents and the complaint is the standard parser's.
    """
    if _orjson is not None:
        try:
            return _orjson.loads(body)
        except _orjson.JSONDecodeError:
            pass
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise bad_request(f"malformed JSON in the {what}: {exc}") from None


_ENCODER = json.JSONEncoder(separators=(",", ":"))  # built once: json.dumps(..., separators=)
# builds a new encoder per call, which costs more than encoding a small answer


def dump_json(doc: Any) -> bytes:
    """Encode an answer. Floats are written as their shortest round-trip
    repr, so a float32 widened to float64 reads back to the same float32;
    NaN and infinities as the NaN / Infinity tokens TF Serving writes.

    orjson (in the serve extra, 10-30x faster on small answers) writes it
    first. It writes NaN and infinities as null, so an answer holding a null
    (or one orjson refuses, or without orjson) is written again by the
    standard encoder: the answer's own nulls come out the same, its NaNs as
    tokens. Looking for null in the text costs far less than looking for
    NaN in the arrays.
    """
    if _orjson is not None:
        try:
            text = _orjson.dumps(doc)
        except TypeError:  # orjson.JSONEncodeError: e.g. an integer past 64 bits
            pass
        else:
            if b"null" not in text:
                return text
    return _ENCODER.encode(doc).encode()


def orjson_dumps() -> Any:
    """orjson.dumps, which dump_json writes with, or None without orjson."""
    return None if _orjson is None else _orjson.dumps


def decompress(body: bytes, encoding: str | None, limit: int) -> bytes:
    """Undo a request's Content-Encoding (gzip or deflate), at most `limit` bytes."""
    if not encoding or encoding == "identity":
        return body
    if encoding not in ("gzip", "deflate"):
        raise RequestError(415, f"Content-Encoding '{encoding}' is not supported; use gzip")
    wbits = 31 if encoding == "gzip" else 15
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise bad_request(f"cannot decompress the {encoding} body: {exc}") from None
    if len(out) > limit:
        raise RequestError(413, f"the decompressed body exceeds the limit of {limit} bytes")
    return out


def json_tensor(values: Any, dtype: str, name: str) -> np.ndarray:
    """A JSON value (nested lists of numbers) as an array of the model's dtype."""
    try:
        arr = np.asarray(values)
    except (ValueError, RecursionError):
        raise bad_request(
            f"input '{name}': expected a rectangular nested list of numbers, received ragged lists"
        ) from None
    return cast_numbers(arr, dtype, name)


def cast_numbers(arr: np.ndarray, dtype: str, name: str) -> np.ndarray:
    """Cast numbers parsed from JSON to the model's dtype; refuse anything else."""
    kind = arr.dtype.kind
    if kind not in "iuf":  # booleans are kind "b"
        got = "strings" if kind in "US" else ("booleans" if kind == "b" else "non-numbers")
        if kind == "O":
            got = "mixed or non-numeric values"
        raise bad_request(f"input '{name}': expected {dtype} numbers, received {got}")
    if dtype == "int32":
        if kind == "f":
            raise bad_request(f"input '{name}': expected int32 integers, received floats")
        info = np.iinfo(np.int32)
        if arr.size and (arr.min() < info.min or arr.max() > info.max):
            raise bad_request(f"input '{name}': values do not fit int32")
    return np.ascontiguousarray(arr, dtype=_DTYPES.get(dtype) or np.dtype(dtype))


_DTYPES = {"float32": np.dtype(np.float32), "int32": np.dtype(np.int32)}  # the models' input dtypes


def check_shape(arr: np.ndarray, shape: Sequence[int | None], name: str) -> None:
    """Refuse an input whose rank or fixed dimensions differ from the model's."""
    got = arr.shape
    if len(got) != len(shape) or (
        got[1:] != shape[1:] and any(d is not None and d != a for d, a in zip(shape[1:], got[1:]))
    ):
        raise bad_request(
            f"input '{name}': expected shape {format_shape(shape)}, received {list(arr.shape)}"
        )
    if got[0] == 0:
        raise bad_request(f"input '{name}': expected at least one row, received 0")


def format_shape(shape: Sequence[int | None]) -> list[int]:
    """A model shape as the protocols write it: -1 for any size."""
    return [-1 if d is None else int(d) for d in shape]


def tensor_from_v2_data(data: Any, shape: list[int], datatype: str, name: str) -> np.ndarray:
    """An OIP v2 JSON tensor's ``data`` (flat or nested, row-major) as an array."""
    if datatype == "BYTES":
        raise bad_request(f"input '{name}': BYTES tensors are not model inputs here")
    arr = np.asarray(_flatten(data, name))
    size = arr.size
    if size != math.prod(shape):
        raise bad_request(
            f"input '{name}': shape {shape} needs {math.prod(shape)} values, received {size}"
        )
    kind = arr.dtype.kind
    if datatype == "BOOL":
        if size and kind != "b":
            raise bad_request(f"input '{name}': datatype BOOL needs true/false values")
        return arr.astype(np.bool_).reshape(shape)
    want = V2_TO_NUMPY[datatype]
    if size and kind not in "iuf":  # booleans are kind "b"
        raise bad_request(f"input '{name}': datatype {datatype} needs numbers")
    if size and kind == "f" and want.kind in "iu":
        raise bad_request(f"input '{name}': datatype {datatype} needs integers, received floats")
    return np.ascontiguousarray(arr, dtype=want).reshape(shape)


def _flatten(data: Any, name: str) -> Any:
    if not isinstance(data, list):
        raise bad_request(f"input '{name}': 'data' must be a list, received {type(data).__name__}")
    if data and isinstance(data[0], list):
        try:
            return np.asarray(data).reshape(-1)
        except ValueError:
            raise bad_request(f"input '{name}': 'data' holds ragged lists") from None
    return data


def little_endian_bytes(arr: np.ndarray) -> bytes:
    """An array's values as raw little-endian bytes, row-major."""
    if arr.dtype.isnative and _LITTLE:
        return arr.tobytes()  # row-major whatever the array's layout
    return arr.astype(arr.dtype.newbyteorder("<")).tobytes()


_LITTLE = sys.byteorder == "little"


def tensor_from_bytes(raw: memoryview, shape: list[int], datatype: str, name: str) -> np.ndarray:
    """A binary tensor (raw little-endian values, row-major) as an array (no copy
    when the bytes are aligned)."""
    if datatype == "BYTES":
        raise bad_request(f"input '{name}': BYTES tensors are not model inputs here")
    dt = V2_TO_NUMPY[datatype]
    need = math.prod(shape) * dt.itemsize
    if len(raw) != need:
        raise bad_request(
            f"input '{name}': shape {shape} of {datatype} needs {need} bytes, "
            f"received binary_data_size {len(raw)}"
        )
    arr = np.frombuffer(raw, dtype=dt).reshape(shape)
    # The JSON header's length puts the data at any byte offset: an unaligned
    # view would cost a copy later anyway (the core reads aligned arrays).
    return arr if arr.flags.aligned else arr.copy()


def bytes_tensor_binary(items: Sequence[str]) -> bytes:
    """OIP v2 BYTES elements in binary: each a 4-byte little-endian length, then the bytes."""
    parts = []
    for s in items:
        b = s.encode()
        parts.append(struct.pack("<I", len(b)))
        parts.append(b)
    return b"".join(parts)
