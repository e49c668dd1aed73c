"""Reader for TF.js LayersModel files: model.json plus binary weight shards.

Follows TFJS-FORMAT.md sections 1 and 2: every modelTopology variant, weight
groups over several shards read as one byte stream, quantized entries
dequantized exactly as TF.js does (float64 arithmetic, then float32), and
strict checks on every size and path from the file.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidModelError, ModelNotFoundError, UnsupportedLayerError, WeightsError
from .provenance import model_json_provenance
from .sidecar import attach_sidecars, labels_from_metadata, read_limited
from .spec import ModelSpec
from .validate import check_topology, loads_json

MAX_JSON_BYTES = 256 << 20
MAX_WEIGHT_BYTES = 8 << 30
MAX_ELEMENTS = 1 << 34

# Bytes per element on disk, by storage dtype.
_ELEMENT_BYTES = {"float32": 4, "int32": 4, "bool": 1, "float16": 2, "uint16": 2, "uint8": 1}

ShardReader = Callable[[str], bytes]


class BoundedShards:
    """A ShardReader that can also stop reading a shard after `limit` bytes
    (``read_at_most``): _read_stream asks it for no more than the manifest
    still declares, so an endless body (a URL) is never buffered whole."""

    def __init__(self, read_at_most: Callable[[str, int], bytes]) -> None:
        self.read_at_most = read_at_most

    def __call__(self, rel: str) -> bytes:
        return self.read_at_most(rel, MAX_WEIGHT_BYTES)


def read_tfjs(path: Path) -> ModelSpec:
    """Read ``model.json`` (or a folder holding one) from the local disk."""
    path = Path(path)
    if path.is_dir():
        path = path / "model.json"
    if not path.is_file():
        raise ModelNotFoundError(f"{path}: no such model.json file", filename=str(path))
    size = path.stat().st_size
    if size > MAX_JSON_BYTES:
        raise InvalidModelError(f"{path}: {size} bytes is too large for a model.json")
    folder = path.parent.resolve()
    spec = parse_model_json(path.read_bytes(), LocalShards(folder, path), source=str(path))
    spec.folder = folder
    return attach_sidecars(spec, lambda name: read_limited(folder / name))


class LocalShards:
    """Weight shards next to a model.json on the local disk.

    Called with a shard's relative path it returns the bytes (the generic
    ShardReader); decode_manifest also uses ``locate`` to read every shard
    straight into one buffer, without the concatenation copy (on a VM, page
    faults of fresh memory are much of a large model's load).
    """

    def __init__(self, folder: Path, model_json: Path) -> None:
        self._folder = folder
        self._model_json = model_json

    def locate(self, rel: str) -> Path:
        """The shard's file, confined to the model's folder; it must exist."""
        target = _confined_path(self._folder, rel, self._model_json)
        if not target.is_file():
            raise WeightsError(
                f"{self._model_json}: weight shard '{rel}' is missing (looked for {target.name})"
            )
        return target

    def __call__(self, rel: str) -> bytes:
        path = self.locate(rel)
        try:
            return path.read_bytes()
        except OSError as exc:
            raise WeightsError(
                f"{self._model_json}: weight shard '{rel}' cannot be read ({exc})"
            ) from None


def parse_model_json(
    text: bytes | str, read_shard: ShardReader, source: str = "model.json"
) -> ModelSpec:
    """Parse model.json content; ``read_shard(relative_path)`` returns a shard's bytes."""
    doc = loads_json(text, source, "model.json")
    if not isinstance(doc, dict):
        raise InvalidModelError(f"{source}: expected a JSON object, found {type(doc).__name__}")
    if doc.get("format") == "graph-model":
        raise UnsupportedLayerError(
            f"{source}: this is a TF.js GraphModel (format 'graph-model'); tfjs_infer runs "
            "LayersModels (format 'layers-model')"
        )
    topo = doc.get("modelTopology")
    if topo is None:
        raise InvalidModelError(
            f"{source}: 'modelTopology' is missing or null (a weights-only file cannot be run)"
        )
    if not isinstance(topo, dict):
        raise InvalidModelError(f"{source}: 'modelTopology' must be an object")
    keras_version = topo.get("keras_version")
    model_config = topo.get("model_config", topo)
    if not isinstance(model_config, dict) or "class_name" not in model_config:
        raise InvalidModelError(f"{source}: the model topology has no 'class_name'")
    check_topology(model_config, source)
    topology = {"class_name": model_config["class_name"], "config": model_config.get("config")}

    manifest = doc.get("weightsManifest")
    if manifest is None:
        raise WeightsError(f"{source}: 'weightsManifest' is missing: the model has no weights")
    weights = decode_manifest(manifest, read_shard, source)
    semantics, provenance = model_json_provenance(doc, _is_keras3_dialect(topology, weights))
    udm = doc.get("userDefinedMetadata")
    spec = ModelSpec(
        topology=topology,
        weights=weights,
        semantics=semantics,
        source=source,
        format="tfjs-layers",
        keras_version=str(keras_version) if keras_version is not None else None,
        generated_by=doc.get("generatedBy"),
        converted_by=doc.get("convertedBy"),
        user_defined_metadata=udm if isinstance(udm, dict) else None,
        provenance=provenance,
    )
    if isinstance(udm, dict):
        # TF.js model.setUserDefinedMetadata({...}): labels at the top or under "metadata".
        nested = udm.get("metadata")
        for candidate in (udm, nested if isinstance(nested, dict) else {}):
            labels = labels_from_metadata(candidate)
            if labels is not None:
                spec.labels = labels
                break
    return spec


def decode_manifest(manifest: Any, read_shard: ShardReader, source: str) -> dict[str, np.ndarray]:
    """Concatenate every shard in manifest order and cut each weight from it."""
    if not isinstance(manifest, list):
        raise WeightsError(f"{source}: 'weightsManifest' must be a list of groups")
    specs: list[dict[str, Any]] = []
    paths: list[str] = []
    for g, group in enumerate(manifest):
        if not isinstance(group, dict) or not isinstance(group.get("paths"), list):
            raise WeightsError(f"{source}: weightsManifest group {g} has no 'paths' list")
        if not isinstance(group.get("weights"), list):
            raise WeightsError(f"{source}: weightsManifest group {g} has no 'weights' list")
        for p in group["paths"]:
            if not isinstance(p, str):
                raise WeightsError(f"{source}: group {g} has a non-string shard path {p!r}")
            paths.append(p)
        specs.extend(group["weights"])

    layouts = [_entry_layout(e, source) for e in specs]
    expected = sum(nbytes for _, nbytes in layouts)
    if expected > MAX_WEIGHT_BYTES:
        raise WeightsError(
            f"{source}: the manifest declares {expected} bytes of weights: too large"
        )
    view = _read_stream(paths, read_shard, expected, source)  # slices of it are not copies
    weights: dict[str, np.ndarray] = {}
    offset = 0
    for entry, (shape, nbytes) in zip(specs, layouts):
        raw = view[offset : offset + nbytes]
        offset += nbytes
        if entry.get("group") == "optimizer":
            continue
        name = entry["name"]
        if name in weights:
            raise WeightsError(f"{source}: weight '{name}' appears twice in the manifest")
        weights[name] = _decode_entry(entry, raw, shape, source)
    return weights


def _read_stream(
    paths: list[str], read_shard: ShardReader, expected: int, source: str
) -> memoryview:
    """All shards in order as one byte stream of exactly `expected` bytes."""

    def check_total(total: int) -> None:
        shard_list = ", ".join(paths) or "(none)"
        if total < expected:
            raise WeightsError(
                f"{source}: weight shards are truncated: the manifest declares {expected} bytes, "
                f"the shards ({shard_list}) hold {total}"
            )
        if total > expected:
            raise WeightsError(
                f"{source}: weight shards are oversized: the manifest declares {expected} bytes, "
                f"the shards ({shard_list}) hold {total}"
            )

    if isinstance(read_shard, LocalShards):
        files = [read_shard.locate(p) for p in paths]
        sizes = [f.stat().st_size for f in files]
        check_total(sum(sizes))
        # bytearray, not numpy: numpy asks for huge pages for large arrays,
        # and a VM backs never-touched huge pages slowly (ResNet50's 100 MB
        # took 190 ms of page faults instead of 50).
        view = memoryview(bytearray(expected))
        offset = 0
        for p, f, size in zip(paths, files, sizes):
            try:
                with open(f, "rb") as stream:
                    complete = stream.readinto(view[offset : offset + size]) == size
                    complete = complete and not stream.read(1)
            except OSError as exc:
                raise WeightsError(f"{source}: weight shard '{p}' cannot be read ({exc})") from None
            if not complete:
                raise WeightsError(f"{source}: weight shard '{p}' changed while it was read")
            offset += size
        return view
    chunks, total = [], 0
    for p in paths:
        if isinstance(read_shard, BoundedShards):
            data = read_shard.read_at_most(p, expected - total)
        else:
            data = read_shard(p)
        total += len(data)
        if total > expected + (64 << 20) or total > MAX_WEIGHT_BYTES:
            raise WeightsError(
                f"{source}: shard '{p}' makes the weights {total} bytes, "
                f"but the manifest declares {expected}"
            )
        chunks.append(data)
    stream_bytes = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    check_total(len(stream_bytes))
    return memoryview(stream_bytes)


def _entry_layout(entry: Any, source: str) -> tuple[tuple[int, ...], int]:
    """Validate one manifest entry; return its shape and its size on disk."""
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise WeightsError(f"{source}: a weightsManifest entry has no 'name'")
    name = entry["name"]
    shape = entry.get("shape")
    if not isinstance(shape, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        raise WeightsError(
            f"{source}: weight '{name}': shape must be a list of non-negative integers, "
            f"found {shape!r}"
        )
    count = math.prod(shape)
    if count > MAX_ELEMENTS:
        raise WeightsError(f"{source}: weight '{name}': shape {shape} is absurdly large")
    dtype = entry.get("dtype")
    if dtype not in ("float32", "int32", "bool"):
        raise WeightsError(
            f"{source}: weight '{name}': dtype {dtype!r} is not supported "
            "(expected float32, int32 or bool)"
        )
    storage = dtype
    quant = entry.get("quantization")
    if quant is not None:
        if not isinstance(quant, dict) or quant.get("dtype") not in ("uint8", "uint16", "float16"):
            got = quant.get("dtype") if isinstance(quant, dict) else quant
            raise WeightsError(
                f"{source}: weight '{name}': quantization dtype {got!r} is not supported "
                "(expected uint8, uint16 or float16)"
            )
        storage = quant["dtype"]
        if storage == "float16" and dtype != "float32":
            raise WeightsError(
                f"{source}: weight '{name}': float16 quantization needs dtype float32"
            )
        if storage != "float16":
            for key in ("scale", "min"):
                v = quant.get(key)
                if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
                    raise WeightsError(
                        f"{source}: weight '{name}': quantization '{key}' must be a finite "
                        f"number, found {v!r}"
                    )
    return tuple(shape), count * _ELEMENT_BYTES[storage]


def _decode_entry(
    entry: dict[str, Any], raw: bytes | memoryview, shape: tuple[int, ...], source: str
) -> np.ndarray:
    dtype = entry["dtype"]
    quant = entry.get("quantization")
    if quant is None:
        np_dtype = {"float32": "<f4", "int32": "<i4", "bool": "u1"}[dtype]
        arr = np.frombuffer(raw, dtype=np_dtype)
        # Aligned float32/int32 data is used in place (a read-only view of the
        # shards); the rest is converted (copied).
        keep = arr.dtype != np.uint8 and arr.flags.aligned
        arr = arr.astype(np.float32 if dtype == "float32" else np.int32, copy=not keep)
        return arr.reshape(shape)
    storage = quant["dtype"]
    if storage == "float16":
        return np.frombuffer(raw, dtype="<f2").astype(np.float32).reshape(shape)
    q = np.frombuffer(raw, dtype="<u1" if storage == "uint8" else "<u2").astype(np.float64)
    # TF.js computes q * scale + min in float64, then rounds once to the target.
    value = q * float(quant["scale"]) + float(quant["min"])
    if dtype == "int32":
        return np.floor(value + 0.5).astype(np.int32).reshape(shape)  # JS Math.round
    return value.astype(np.float32).reshape(shape)


def shard_relpath(rel: str, source: str) -> str:
    """Check a manifest shard path and return it normalized ("./a/b.bin" -> "a/b.bin").

    Absolute paths, URLs, drive letters and ``..`` that would leave the model's
    folder are refused (TFJS-FORMAT.md 1.4), whatever the storage: a folder,
    a zip, or a URL.
    """
    if "://" in rel or rel.startswith(("/", "\\")) or (len(rel) > 1 and rel[1] == ":"):
        raise WeightsError(
            f"{source}: weight shard path '{rel}' is absolute; only paths inside the "
            "model's folder are allowed"
        )
    parts = [p for p in rel.replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in parts or "\x00" in rel or not parts:
        raise WeightsError(
            f"{source}: weight shard path '{rel}' leaves the model's folder; refused"
        )
    return "/".join(parts)


def _confined_path(folder: Path, rel: str, model_path: Path) -> Path:
    """Resolve a shard path inside the model folder; refuse escapes (also through links)."""
    try:
        target = (folder / shard_relpath(rel, str(model_path))).resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop (RuntimeError before Python 3.13)
        raise WeightsError(
            f"{model_path}: weight shard path '{rel}' cannot be resolved ({exc}); expected a "
            "file inside the model's folder"
        ) from None
    if folder != target and folder not in target.parents:
        raise WeightsError(
            f"{model_path}: weight shard path '{rel}' resolves outside the model's folder"
        )
    return target


def _is_keras3_dialect(topology: dict[str, Any], weights: dict[str, np.ndarray]) -> bool:
    """Converter output from a .keras file keeps Keras 3 configs and index weight names."""
    if any(name.startswith("layers/") and "/vars/" in name for name in weights):
        return True
    text = json.dumps(topology.get("config"))
    return '"batch_shape"' in text or '"keras_history"' in text
