"""Format readers: each turns a model source into a ModelSpec.

``read_model`` is the one entry point. It accepts

- a path: ``model.json``, a folder holding one, a ``.keras`` or an ``.h5`` file,
  or a ``.zip`` of any of these;
- an ``http://`` or ``https://`` URL (io/http.py);
- ``bytes`` (or bytearray/memoryview) or a binary file object, recognised by
  content (io/memory.py): a zip (TF.js folder, .keras), HDF5 (.h5), or
  model.json text with its shards passed as ``weights``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO, Union

from ..errors import InvalidArgumentError, ModelNotFoundError
from .limits import DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT, DEFAULT_TOTAL_TIMEOUT, is_url
from .memory import WeightsSource, keras_reader, read_bytes, read_stream
from .sidecar import attach_sidecars, read_limited
from .spec import ModelSpec
from .tfjs import parse_model_json, read_tfjs

Source = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, BinaryIO]

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_TIMEOUT",
    "DEFAULT_TOTAL_TIMEOUT",
    "ModelSpec",
    "Source",
    "WeightsSource",
    "parse_model_json",
    "read_bytes",
    "read_model",
    "read_tfjs",
]


def read_model(
    source: Source,
    *,
    weights: WeightsSource | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    total_timeout: float = DEFAULT_TOTAL_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    headers: dict[str, str] | None = None,
) -> ModelSpec:
    """Read a model from a path, a URL, bytes or a file object (see the module docstring).

    `weights` is used only when `source` is model.json content (bytes or a file
    object). `timeout`, `total_timeout` and `headers` apply to URLs; `max_bytes`
    bounds what is downloaded or read from memory and archives.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        return read_bytes(bytes(source), weights=weights, max_bytes=max_bytes)
    if hasattr(source, "read"):
        name = str(getattr(source, "name", "<file object>"))
        data = read_stream(source, max_bytes, name)  # type: ignore[arg-type]
        return read_bytes(data, weights=weights, source=name, max_bytes=max_bytes)
    if not isinstance(source, (str, os.PathLike)):
        raise InvalidArgumentError(
            "load_model() takes a path, an http(s) URL, bytes or a binary file object; "
            f"received {type(source).__name__}"
        )
    text = os.fspath(source)
    if isinstance(text, str) and is_url(text):
        from .http import read_url  # urllib loads only when a URL is given

        return read_url(
            text, timeout=timeout, total_timeout=total_timeout, max_bytes=max_bytes, headers=headers
        )
    if weights is not None:
        raise InvalidArgumentError(
            "weights= is only used when the model.json content is given as bytes"
        )
    return _read_path(Path(text), max_bytes)


def _read_path(path: Path, max_bytes: int) -> ModelSpec:
    if path.is_dir():
        if (path / "model.json").is_file():
            return read_tfjs(path / "model.json")
        raise ModelNotFoundError(
            f"{path}: the folder has no model.json", filename=str(path / "model.json")
        )
    if not path.exists():
        raise ModelNotFoundError(f"{path}: no such file or folder", filename=str(path))
    suffix = path.suffix.lower()
    if suffix in (".keras", ".h5", ".hdf5"):
        spec = _read_keras_path(path)
        # Teachable Machine's Keras export puts labels.txt beside keras_model.h5.
        return attach_sidecars(spec, lambda name: read_limited(path.parent / name), metadata=False)
    if suffix == ".zip":
        with path.open("rb") as f:
            return read_bytes(
                read_stream(f, max_bytes, str(path)), source=str(path), max_bytes=max_bytes
            )
    return read_tfjs(path)


def _read_keras_path(path: Path) -> ModelSpec:
    return keras_reader(path.suffix, str(path)).read_keras(path)
