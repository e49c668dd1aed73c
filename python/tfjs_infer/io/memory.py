"""Models held in memory: bytes or file objects, recognised by their content.

``read_bytes`` sniffs what it was given:

- a ZIP archive: a Keras 3 ``.keras`` file (``config.json`` + ``model.weights.h5``),
  or a zipped TF.js model folder (``model.json`` + shards, optionally
  ``metadata.json`` / ``labels.txt``, possibly inside one top folder, as
  Teachable Machine's download is), or a zip holding one ``.h5`` (Teachable
  Machine's Keras export, with ``labels.txt``);
- HDF5 (``\\x89HDF``): a Keras ``.h5`` file;
- JSON text: ``model.json`` content, with the shards given as ``weights``.

Every member of an archive is size-checked before it is read (zip bombs),
and shard paths are confined to model.json's folder inside the archive.
"""

from __future__ import annotations

import io
import os
import posixpath
import struct
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO, Union

from ..errors import InvalidArgumentError, InvalidModelError, WeightsError
from .limits import DEFAULT_MAX_BYTES
from .sidecar import MAX_SIDECAR_BYTES, attach_sidecars, read_limited
from .spec import ModelSpec
from .tfjs import _confined_path, parse_model_json, shard_relpath

ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_READ_CHUNK = 16 << 20

# What `weights=` may be when model.json arrives as bytes: the shards'
# concatenated byte stream, a mapping shard path -> bytes, a folder, or a file object.
WeightsSource = Union[bytes, bytearray, memoryview, Mapping[str, Any], str, os.PathLike, BinaryIO]


def read_stream(stream: BinaryIO, limit: int, source: str) -> bytes:
    """Read a whole file object, refusing more than `limit` bytes."""
    # In chunks: read(limit + 1) would allocate the whole limit (4 GiB) up front.
    chunks: list[bytes] = []
    size = 0
    while True:
        data = stream.read(min(_READ_CHUNK, limit + 1 - size))
        if isinstance(data, str):
            data = data.encode("utf-8")
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise InvalidModelError(
                f"{source}: read() returned {type(data).__name__}, expected bytes"
            )
        if not data:
            return b"".join(chunks)
        size += len(data)
        if size > limit:
            raise InvalidModelError(f"{source}: larger than the limit of {limit} bytes")
        chunks.append(bytes(data))


def sniff(data: bytes) -> str:
    """'zip', 'hdf5', 'json' or 'unknown'."""
    if data.startswith(ZIP_MAGICS):
        return "zip"
    if data.startswith(HDF5_MAGIC):
        return "hdf5"
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"{"):
        return "json"
    return "unknown"


def read_bytes(
    data: bytes,
    *,
    weights: WeightsSource | None = None,
    source: str = "<bytes>",
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> ModelSpec:
    """A ModelSpec from a model held in memory (see the module docstring)."""
    kind = sniff(data)
    if kind == "zip":
        return _read_zip(data, source, max_bytes)
    if kind == "hdf5":
        return read_keras_bytes(data, ".h5", source)
    if kind == "json":
        return _read_model_json_bytes(data, weights, source, max_bytes)
    raise InvalidModelError(
        f"{source}: unrecognised content (starts with {data[:8]!r}); expected model.json text, "
        "a zip of a TF.js model folder, a .keras archive or an .h5 file"
    )


def _read_model_json_bytes(
    data: bytes, weights: WeightsSource | None, source: str, max_bytes: int
) -> ModelSpec:
    if weights is None:

        def read_shard(rel: str) -> bytes:
            raise WeightsError(
                f"{source}: model.json given as bytes references weight shard '{rel}'; pass "
                "weights= (the shards' bytes concatenated in manifest order, a dict "
                "path -> bytes, or the folder holding them)"
            )

        return parse_model_json(data, read_shard, source=source)
    if isinstance(weights, (bytes, bytearray, memoryview)) or hasattr(weights, "read"):
        stream = (
            bytes(weights)
            if isinstance(weights, (bytes, bytearray, memoryview))
            else read_stream(weights, max_bytes, f"{source} weights")  # type: ignore[arg-type]
        )
        served = [False]

        def read_shard(rel: str) -> bytes:
            # The whole stream stands for all shards, which TF.js concatenates anyway.
            if served[0]:
                return b""
            served[0] = True
            return stream

        return parse_model_json(data, read_shard, source=source)
    if isinstance(weights, Mapping):
        table = {shard_relpath(str(k), source): v for k, v in weights.items()}

        def read_shard(rel: str) -> bytes:
            key = shard_relpath(rel, source)
            if key not in table:
                raise WeightsError(
                    f"{source}: weight shard '{rel}' is not among the weights given "
                    f"({', '.join(sorted(table)) or 'none'})"
                )
            value = table[key]
            return value.read() if hasattr(value, "read") else bytes(value)

        return parse_model_json(data, read_shard, source=source)
    if isinstance(weights, (str, os.PathLike)):
        folder = Path(weights).resolve()
        if not folder.is_dir():
            raise WeightsError(f"{source}: weights folder {folder} does not exist")

        def read_shard(rel: str) -> bytes:
            target = _confined_path(folder, rel, Path(source))
            if not target.is_file():
                raise WeightsError(f"{source}: weight shard '{rel}' is missing from {folder}")
            return target.read_bytes()

        spec = parse_model_json(data, read_shard, source=source)
        spec.folder = folder
        return attach_sidecars(spec, lambda name: read_limited(folder / name))
    raise InvalidArgumentError(
        "weights= must be bytes, a file object, a dict shard path -> bytes, or a folder path; "
        f"received {type(weights).__name__}"
    )


class _ZipBudget:
    """Reads zip members while keeping the total under a byte budget."""

    def __init__(self, zf: Any, source: str, max_bytes: int) -> None:
        self.zf = zf
        self.source = source
        self.left = max_bytes
        # Not is_dir(): it fails on an empty member name.
        self.names = {i.filename: i for i in zf.infolist() if not i.filename.endswith("/")}

    def read(self, name: str, limit: int | None = None) -> bytes:
        import zipfile  # already loaded by _read_zip

        info = self.names[name]
        cap = self.left if limit is None else min(limit, self.left)
        if info.file_size > cap:
            raise InvalidModelError(
                f"{self.source}: member '{name}' is {info.file_size} bytes uncompressed, over the "
                f"limit of {cap} bytes"
            )
        try:
            with self.zf.open(info) as f:
                data = f.read(cap + 1)  # never trust the header's size alone
        except (
            zipfile.BadZipFile,
            OSError,
            EOFError,
            ValueError,
            RuntimeError,  # encrypted
            NotImplementedError,  # compression method
            zlib.error,
        ) as exc:
            raise InvalidModelError(f"{self.source}: cannot read member '{name}' ({exc})") from None
        if len(data) > cap:
            raise InvalidModelError(
                f"{self.source}: member '{name}' is larger than its header says"
            )
        self.left -= len(data)
        return data


def _read_zip(data: bytes, source: str, max_bytes: int) -> ModelSpec:
    import zipfile  # only when a zip arrives (keeps `import tfjs_infer` light)

    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (
        zipfile.BadZipFile,
        OSError,
        EOFError,
        ValueError,
        struct.error,
        NotImplementedError,  # a "zip file version" zipfile does not know
    ) as exc:
        raise InvalidModelError(f"{source}: not a readable zip archive ({exc})") from None
    with zf:
        z = _ZipBudget(zf, source, max_bytes)
        names = [n for n in z.names if not n.startswith("__MACOSX/")]
        if "config.json" in names and "model.weights.h5" in names:
            return read_keras_bytes(data, ".keras", source)
        jsons = [n for n in names if posixpath.basename(n) == "model.json"]
        if jsons:
            return _read_zipped_tfjs(z, _shallowest(jsons, source, "model.json"), source)
        h5s = [n for n in names if n.lower().endswith((".h5", ".hdf5", ".keras"))]
        if h5s:
            member = _shallowest(h5s, source, "Keras model")
            spec = read_keras_bytes(
                z.read(member), posixpath.splitext(member)[1], f"{source}:{member}"
            )
            return attach_sidecars(
                spec, _zip_sidecar_reader(z, posixpath.dirname(member)), metadata=False
            )
    raise InvalidModelError(
        f"{source}: the zip holds no model.json, .keras or .h5 model "
        f"(members: {', '.join(sorted(names)[:10]) or 'none'})"
    )


def _shallowest(names: list[str], source: str, what: str) -> str:
    depth = min(n.count("/") for n in names)
    top = [n for n in names if n.count("/") == depth]
    if len(top) > 1:
        raise InvalidModelError(
            f"{source}: the zip holds several {what} files: {', '.join(sorted(top))}"
        )
    return top[0]


def _zip_sidecar_reader(z: _ZipBudget, folder: str) -> Any:
    def read(name: str) -> bytes | None:
        member = posixpath.join(folder, name) if folder else name
        if member not in z.names:
            return None
        return z.read(member, MAX_SIDECAR_BYTES)

    return read


def _read_zipped_tfjs(z: _ZipBudget, member: str, source: str) -> ModelSpec:
    folder = posixpath.dirname(member)
    where = f"{source}:{member}"

    def read_shard(rel: str) -> bytes:
        name = shard_relpath(rel, where)
        full = posixpath.join(folder, name) if folder else name
        if full not in z.names:
            raise WeightsError(f"{where}: weight shard '{rel}' is missing from the zip")
        return z.read(full)

    spec = parse_model_json(z.read(member), read_shard, source=where)
    return attach_sidecars(spec, _zip_sidecar_reader(z, folder))


def keras_reader(suffix: str, source: str) -> Any:
    """The Keras-file reader module (io/keras.py), or a clear error when it is unavailable."""
    try:
        from . import keras as keras_io  # optional: the Keras reader, which needs h5py
    except ImportError as exc:
        raise InvalidModelError(
            f"{source}: this is a Keras {suffix} file; reading it needs the Keras reader "
            f"({exc}); install the extra: pip install 'tfjs-infer[keras]'"
        ) from None
    return keras_io


def read_keras_bytes(data: bytes, suffix: str, source: str) -> ModelSpec:
    """A .keras or .h5 file held in memory, through the Keras reader (io/keras.py)."""
    keras_io = keras_reader(suffix, source)
    reader = getattr(keras_io, "read_keras_bytes", None)
    if reader is not None:
        spec = reader(data, source=source)
    else:
        # The reader takes paths only: hand it a private temporary copy.
        import tempfile

        with tempfile.TemporaryDirectory(prefix="tfjs_infer_") as tmp:
            path = Path(tmp) / f"model{suffix}"
            path.write_bytes(data)
            spec = keras_io.read_keras(path)
    spec.source = source
    spec.folder = None
    return spec


__all__ = [
    "DEFAULT_MAX_BYTES",
    "WeightsSource",
    "keras_reader",
    "read_bytes",
    "read_keras_bytes",
    "read_stream",
    "sniff",
]
