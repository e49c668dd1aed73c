"""Readers for Keras model files: the Keras 3 ``.keras`` zip archive and the
legacy HDF5 ``.h5`` written by Keras 2 (tf.keras) and Keras 3.

TFJS-FORMAT.md section 9 is the reference. Both produce a ModelSpec whose
``keras_weights`` gives every layer its variables in canonical order:

* ``.keras``: ``model.weights.h5`` holds ``<path>/vars/<i>`` groups; the path
  of each layer is rebuilt by replaying Keras's save walk over the config
  (``layers/<snake_case(class)>[_n]``, nested models recursing into their own
  ``layers``). Sub-objects of a layer (``cell``, ``forward_layer``,
  ``query_dense``...) get the key ``(*layer_key, *sub_path)``.
* ``.h5``: the ``model_weights/<layer>`` groups list their datasets in the
  ``weight_names`` attribute; the names travel with the arrays so lowerings
  can match by name (the legacy order puts every trainable variable first).

Nothing from the file is executed or unpickled: JSON is parsed with ``json``,
arrays are read as plain numeric datasets, and every size is checked first.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidModelError, MissingDependencyError, ModelNotFoundError, WeightsError
from .hdf5_guard import check_global_heaps, check_global_heaps_file
from .spec import ModelSpec
from .validate import check_topology, loads_json

MAX_CONFIG_BYTES = 64 << 20
MAX_METADATA_BYTES = 1 << 20
MAX_WEIGHTS_BYTES = 8 << 30
# A member expanding more than MAX_EXPANSION times, past BOMB_FLOOR bytes, is a
# zip bomb (as Keras's own loader rules); reads are bounded by the limits anyway.
MAX_EXPANSION = 100
BOMB_FLOOR = 256 << 20
MAX_ARRAY_ELEMENTS = 1 << 32
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
# What zipfile.ZipFile raises on a damaged archive (NotImplementedError: a
# "zip file version" it does not know).
_ZIP_OPEN_ERRORS = (
    zipfile.BadZipFile,
    OSError,
    EOFError,
    ValueError,
    struct.error,
    NotImplementedError,
)
MODEL_CLASSES = ("Sequential", "Functional", "Model")

WeightKey = tuple  # (nested model names..., layer name, sub-object path...)
KerasWeights = dict  # WeightKey -> (names | None, [arrays])


def read_keras(path: str | Path) -> ModelSpec:
    """Read a ``.keras`` archive or a legacy ``.h5`` Keras model file."""
    path = Path(path)
    if not path.is_file():
        raise ModelNotFoundError(f"{path}: no such file", filename=str(path))
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(b"PK"):
        return _read_archive(path)
    if _is_hdf5(path):
        return _read_legacy_h5(path)
    raise InvalidModelError(
        f"{path}: neither a Keras 3 .keras archive (zip) nor an HDF5 .h5 file "
        f"(first bytes {head!r})"
    )


def _is_hdf5(path: Path) -> bool:
    # The superblock sits at 0, 512, 1024, 2048, ... (after an optional user block).
    size = path.stat().st_size
    with open(path, "rb") as f:
        offset = 0
        while offset + 8 <= size and offset <= (1 << 20):
            f.seek(offset)
            if f.read(8) == HDF5_MAGIC:
                return True
            offset = 512 if offset == 0 else offset * 2
    return False


def _h5py() -> Any:
    try:
        import h5py
    except ImportError:
        raise MissingDependencyError(
            "reading Keras .keras and .h5 files needs h5py: install it with "
            "`pip install tfjs-infer[keras]` (or `pip install h5py`)"
        ) from None
    return h5py


# -- the .keras archive ---------------------------------------------------------


def _read_archive(path: Path) -> ModelSpec:
    try:
        zf = zipfile.ZipFile(path)
    except _ZIP_OPEN_ERRORS as exc:
        raise InvalidModelError(f"{path}: not a readable .keras zip archive ({exc})") from None
    with zf:
        names = set()
        for info in zf.infolist():
            _check_member_name(path, info.filename)
            names.add(info.filename)
        if "config.json" not in names:
            raise InvalidModelError(f"{path}: the archive has no config.json (not a Keras 3 model)")
        config = _json_member(zf, path, "config.json", MAX_CONFIG_BYTES)
        metadata: dict[str, Any] = {}
        if "metadata.json" in names:
            meta = _json_member(zf, path, "metadata.json", MAX_METADATA_BYTES)
            metadata = meta if isinstance(meta, dict) else {}
        if "model.weights.h5" in names:
            data = _member_bytes(zf, path, "model.weights.h5", MAX_WEIGHTS_BYTES)
            by_path = _archive_weights_h5(data, path)
        elif "model.weights.npz" in names:
            raise InvalidModelError(
                f"{path}: weights stored as model.weights.npz are not supported (save the "
                "model with the default .h5 weights format)"
            )
        elif any(n.startswith("model.weights") for n in names):
            raise InvalidModelError(f"{path}: sharded weights are not supported")
        else:
            raise WeightsError(f"{path}: the archive has no model.weights.h5")
    if not isinstance(config, dict) or "class_name" not in config:
        raise InvalidModelError(f"{path}: config.json has no model 'class_name'")
    check_topology(config, f"{path}:config.json")
    version = str(metadata.get("keras_version", "3"))
    semantics = "keras2" if version.startswith(("1.", "2.")) else "keras3"
    topology = {"class_name": config["class_name"], "config": config.get("config")}
    for key in ("module", "registered_name", "build_config"):
        if key in config:
            topology[key] = config[key]
    keras_weights = _map_archive_weights(topology, by_path, path)
    return ModelSpec(
        topology=topology,
        weights={},
        semantics=semantics,
        source=str(path),
        format="keras",
        keras_version=version,
        metadata=metadata,
        keras_weights=keras_weights,
        folder=path.parent.resolve(),
    )


def _check_member_name(path: Path, name: str) -> None:
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or ".." in parts or re.match(r"^[A-Za-z]:", name):
        raise InvalidModelError(f"{path}: archive member '{name}' has an unsafe path")


def _member_bytes(zf: zipfile.ZipFile, path: Path, name: str, limit: int) -> bytes:
    info = zf.getinfo(name)
    if info.file_size > limit:
        raise InvalidModelError(f"{path}: member {name} is {info.file_size} bytes (limit {limit})")
    ratio = info.file_size // max(info.compress_size, 1)
    if info.file_size > BOMB_FLOOR and ratio > MAX_EXPANSION:
        raise InvalidModelError(f"{path}: member {name} expands {ratio}x (refused as a zip bomb)")
    try:
        with zf.open(info) as f:
            data = f.read(limit + 1)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, zlib.error) as exc:
        raise InvalidModelError(f"{path}: member {name} cannot be read ({exc})") from None
    except (NotImplementedError, RuntimeError) as exc:  # a compression method, encryption
        raise InvalidModelError(
            f"{path}: member {name} cannot be read: {exc} (expected a member stored or "
            "deflated, without encryption, as Keras writes them)"
        ) from None
    if len(data) > limit:
        raise InvalidModelError(f"{path}: member {name} exceeds {limit} bytes")
    return data


def _json_member(zf: zipfile.ZipFile, path: Path, name: str, limit: int) -> Any:
    return loads_json(_member_bytes(zf, path, name, limit), str(path), name)


def _open_h5(h5py: Any, target: Any, path: Path, what: str) -> Any:
    try:
        return h5py.File(target, "r")
    except (OSError, ValueError, OverflowError) as exc:
        raise WeightsError(f"{path}: {what} is not a readable HDF5 file ({exc})") from None


def _archive_weights_h5(data: bytes, path: Path) -> dict[str, tuple[str | None, list[np.ndarray]]]:
    """Every ``<p>/vars`` group of model.weights.h5: p -> (name attr, arrays in index order)."""
    h5py = _h5py()
    out: dict[str, tuple[str | None, list[np.ndarray]]] = {}
    check_global_heaps(data, f"{path}:model.weights.h5")
    f = _open_h5(h5py, io.BytesIO(data), path, "model.weights.h5")
    with f:
        try:
            _collect_vars(h5py, f, "", out, path, depth=0)
        except (OSError, KeyError, RuntimeError, OverflowError) as exc:
            raise WeightsError(f"{path}: model.weights.h5 is damaged ({exc})") from None
    return out


def _collect_vars(h5py: Any, group: Any, prefix: str, out: dict, path: Path, depth: int) -> None:
    if depth > 64:
        raise WeightsError(f"{path}: model.weights.h5 nests groups too deeply")
    for key in group:
        item = group[key]
        if not isinstance(item, h5py.Group):
            continue
        sub = f"{prefix}/{key}" if prefix else key
        if key == "vars":
            out[prefix] = (_attr_str(item.attrs.get("name")), _vars_arrays(h5py, item, sub, path))
        elif sub in ("optimizer", "optimizer_weights"):
            continue
        else:
            _collect_vars(h5py, item, sub, out, path, depth + 1)


def _vars_arrays(h5py: Any, group: Any, where: str, path: Path) -> list[np.ndarray]:
    keys = list(group.keys())
    if any(not k.isdigit() for k in keys) or sorted(int(k) for k in keys) != list(range(len(keys))):
        raise WeightsError(
            f"{path}: {where} holds {sorted(keys)}, expected datasets 0..{len(keys) - 1}"
        )
    return [_dataset(h5py, group[str(i)], f"{where}/{i}", path) for i in range(len(keys))]


def _dataset(h5py: Any, ds: Any, where: str, path: Path) -> np.ndarray:
    if not isinstance(ds, h5py.Dataset):
        raise WeightsError(f"{path}: {where} is not a dataset")
    if ds.size > MAX_ARRAY_ELEMENTS:
        raise WeightsError(f"{path}: {where} has {ds.size} elements (too many)")
    declared = _attr_str(ds.attrs.get("dtype"))
    kind = ds.dtype.kind
    try:
        arr = ds[()]
    except (OSError, ValueError, TypeError) as exc:
        raise WeightsError(f"{path}: {where} cannot be read ({exc})") from None
    arr = np.asarray(arr)
    if declared == "bfloat16" and arr.dtype.itemsize == 2 and kind in "uiV":
        # bfloat16 is stored as its raw 16 bits: widen to float32.
        arr = (arr.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
    elif kind == "f":
        arr = arr.astype(np.float32, copy=False)
    elif kind in "iub":
        arr = arr.astype(np.float32)  # integer state (counts, step numbers)
    else:
        raise WeightsError(f"{path}: {where} has unsupported dtype {ds.dtype}")
    return np.ascontiguousarray(arr)


def _attr_str(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray) and value.shape == ():
        return _attr_str(value.item())
    return str(value)


def to_snake_case(name: str) -> str:
    """Keras's naming.to_snake_case: the path component a class gets in .keras files."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def is_keras_op(entry: dict[str, Any]) -> bool:
    """A ``keras.ops`` operation recorded in a Functional graph (not a layer)."""
    module = entry.get("module")
    return isinstance(module, str) and module.startswith("keras.src.ops")


def _class(entry: dict[str, Any]) -> str:
    name = str(entry.get("class_name", ""))
    return "Functional" if name == "Model" else name


def _entry_name(entry: dict[str, Any]) -> str:
    return str(entry.get("name") or (entry.get("config") or {}).get("name") or "?")


def _container_layers(config: Any) -> list[dict[str, Any]]:
    if isinstance(config, list):
        layers = config
    elif isinstance(config, dict) and isinstance(config.get("layers"), list):
        layers = config["layers"]
    else:
        return []
    return [e for e in layers if isinstance(e, dict)]


def _map_archive_weights(
    topology: dict[str, Any],
    by_path: dict[str, tuple[str | None, list[np.ndarray]]],
    path: Path,
) -> KerasWeights:
    """Replay Keras's save walk over the config to give each layer its vars."""
    out: KerasWeights = {}
    # tf.keras 2.13-2.15 archives name the layer list differently.
    list_attr = "layers"
    if not any(p == "layers" or p.startswith("layers/") for p in by_path) and any(
        p.startswith("_layer_checkpoint_dependencies") for p in by_path
    ):
        list_attr = "_layer_checkpoint_dependencies"
    claimed: set[str] = set()
    _map_container(
        _class(topology), topology.get("config"), "", (), by_path, out, list_attr, claimed, path
    )
    return out


def _map_container(
    cls: str,
    config: Any,
    prefix: str,
    scope: tuple[str, ...],
    by_path: dict[str, tuple[str | None, list[np.ndarray]]],
    out: KerasWeights,
    list_attr: str,
    claimed: set[str],
    path: Path,
) -> None:
    used: dict[str, int] = {}
    # Keras 3.6+ names every vars group after its layer: prefer that to the
    # class-name walk (a class may be exported under another name).
    children: dict[str, str] = {}
    for p, (owner, _) in by_path.items():
        rest = p[len(prefix) :] if p.startswith(prefix) else ""
        if owner is not None and rest.startswith(list_attr + "/") and rest.count("/") == 1:
            children[owner] = "" if owner in children else p  # "" marks an ambiguous name
    for entry in _container_layers(config):
        ecls = _class(entry)
        if is_keras_op(entry):
            continue  # operations are not in model.layers
        if cls == "Sequential" and ecls == "InputLayer":
            continue  # Keras 3 Sequential.layers omits its InputLayer
        base = to_snake_case(PYTHON_CLASS.get(ecls, ecls))
        n = used.get(base)
        used[base] = 0 if n is None else n + 1
        comp = base if n is None else f"{base}_{n + 1}"
        name = _entry_name(entry)
        layer_path = children.get(name) or f"{prefix}{list_attr}/{comp}"
        if ecls in MODEL_CLASSES:
            _map_container(
                ecls,
                entry.get("config"),
                layer_path + "/",
                (*scope, name),
                by_path,
                out,
                list_attr,
                claimed,
                path,
            )
            continue
        own = by_path.get(layer_path)
        if own is not None and own[0] is not None and own[0] != name:
            raise WeightsError(
                f"{path}: the weights at {layer_path} belong to layer '{own[0]}', but the config "
                f"puts layer '{name}' there"
            )
        consumed: set[str] = set()
        flat = _flat_vars(ecls, entry.get("config"), layer_path, by_path, consumed)
        key = (*scope, name)
        out[key] = (None, flat)
        for p, (_, arrays) in by_path.items():
            if p.startswith(layer_path + "/") and arrays and p not in consumed:
                rel = p[len(layer_path) + 1 :].split("/")
                sub_key = (*scope, name, *rel)
                out[sub_key] = (None, list(arrays))


# Serialized class names that differ from the Python class the save walk names.
PYTHON_CLASS = {"GroupQueryAttention": "GroupedQueryAttention"}

# Layers whose variables live in a cell sub-object ("<path>/cell/vars").
RNN_LAYERS = ("LSTM", "GRU", "SimpleRNN", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D")


def _flat_vars(
    cls: str,
    config: Any,
    layer_path: str,
    by_path: dict[str, tuple[str | None, list[np.ndarray]]],
    consumed: set[str],
) -> list[np.ndarray]:
    """A layer's variables in canonical order (TFJS-FORMAT.md 3.4), gathering
    those Keras stores in sub-objects: an RNN's cell (or its stacked cells in
    list order), Bidirectional's forward then backward layer, TimeDistributed's
    wrapped layer. Other layers: their own ``vars``."""

    def own(p: str) -> list[np.ndarray]:
        consumed.add(p)
        return list(by_path.get(p, (None, []))[1])

    def inner(key: str) -> tuple[str, Any]:
        obj = config.get(key) if isinstance(config, dict) else None
        if not isinstance(obj, dict):
            return "", None
        return _class(obj), obj.get("config")

    arrays = own(layer_path)
    if cls in RNN_LAYERS:
        return arrays + own(f"{layer_path}/cell")
    if cls == "RNN":
        cell = config.get("cell") if isinstance(config, dict) else None
        cells = cell if isinstance(cell, list) else None
        if isinstance(cell, dict) and _class(cell) == "StackedRNNCells":
            cells = (cell.get("config") or {}).get("cells")
        if not isinstance(cells, list):
            return arrays + own(f"{layer_path}/cell")
        used: dict[str, int] = {}
        for c in cells:
            base = to_snake_case(_class(c) if isinstance(c, dict) else "")
            n = used.get(base)
            used[base] = 0 if n is None else n + 1
            comp = base if n is None else f"{base}_{n + 1}"
            arrays += own(f"{layer_path}/cell/cells/{comp}")
        return arrays
    if cls == "Bidirectional":
        fcls, fcfg = inner("layer")
        bcls, bcfg = inner("backward_layer")
        if not bcls:
            bcls, bcfg = fcls, fcfg
        forward = _flat_vars(fcls, fcfg, f"{layer_path}/forward_layer", by_path, consumed)
        backward = _flat_vars(bcls, bcfg, f"{layer_path}/backward_layer", by_path, consumed)
        return arrays + forward + backward
    if cls == "TimeDistributed":
        icls, icfg = inner("layer")
        return arrays + _flat_vars(icls, icfg, f"{layer_path}/layer", by_path, consumed)
    return arrays


# -- legacy HDF5 ------------------------------------------------------------------


def _read_legacy_h5(path: Path) -> ModelSpec:
    h5py = _h5py()
    check_global_heaps_file(path)
    f = _open_h5(h5py, str(path), path, "the file")
    with f:
        try:
            return _parse_legacy_h5(h5py, f, path)
        except (OSError, KeyError, RuntimeError, OverflowError) as exc:
            raise WeightsError(f"{path}: the HDF5 file is damaged or truncated ({exc})") from None


def _parse_legacy_h5(h5py: Any, f: Any, path: Path) -> ModelSpec:
    raw = f.attrs.get("model_config")
    if raw is None:
        if "layer_names" in f.attrs or "layers" in f:
            raise InvalidModelError(
                f"{path}: a weights-only file (no model_config); tfjs_infer needs the whole model "
                "saved with model.save()"
            )
        raise InvalidModelError(f"{path}: HDF5 file without a Keras model_config attribute")
    text = _attr_str(raw) or ""
    if len(text) > MAX_CONFIG_BYTES:
        raise InvalidModelError(f"{path}: model_config is too large")
    config = loads_json(text, str(path), "model_config")
    if not isinstance(config, dict) or "class_name" not in config:
        raise InvalidModelError(f"{path}: model_config has no model 'class_name'")
    check_topology(config, f"{path}:model_config")
    weights_root = f.get("model_weights")
    version = _attr_str(f.attrs.get("keras_version"))
    if version is None and weights_root is not None:
        version = _attr_str(weights_root.attrs.get("keras_version"))
    version = version or "2"
    if version.startswith("1."):
        raise InvalidModelError(
            f"{path}: Keras {version} files are not supported (Keras 2 or 3 only)"
        )
    semantics = "keras3" if version.startswith("3") else "keras2"
    topology = {"class_name": config["class_name"], "config": config.get("config")}
    out: KerasWeights = {}
    if weights_root is None:
        raise WeightsError(f"{path}: the file has no model_weights group")
    _map_h5_container(h5py, _class(topology), topology["config"], weights_root, (), out, path)
    return ModelSpec(
        topology=topology,
        weights={},
        semantics=semantics,
        source=str(path),
        format="keras-h5",
        keras_version=version,
        keras_weights=out,
        folder=path.parent.resolve(),
    )


def _chunked_attr(attrs: Any, name: str) -> list[str]:
    """An attribute Keras may split into name0, name1, ... when it is large."""
    if name in attrs:
        values = list(np.asarray(attrs[name]).reshape(-1))
    else:
        values = []
        i = 0
        while f"{name}{i}" in attrs:
            values.extend(np.asarray(attrs[f"{name}{i}"]).reshape(-1))
            i += 1
    return [_attr_str(v) or "" for v in values]


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _map_h5_container(
    h5py: Any,
    cls: str,
    config: Any,
    root: Any,
    scope: tuple[str, ...],
    out: KerasWeights,
    path: Path,
) -> None:
    for entry in _container_layers(config):
        name = _entry_name(entry)
        if not _utf8(name):
            raise InvalidModelError(f"{path}: layer name {name!r} is not valid UTF-8")
        if name not in root:
            continue  # layers without weights may have no group
        group = root[name]
        if not isinstance(group, h5py.Group):
            raise WeightsError(f"{path}: model_weights/{name} is not a group")
        wnames = _chunked_attr(group.attrs, "weight_names")
        arrays = []
        for w in wnames:
            if not _utf8(w):  # h5py hands undecodable bytes back as lone surrogates
                raise WeightsError(
                    f"{path}: layer '{name}': weight name {w!r} is not valid UTF-8 "
                    "(expected names such as 'dense/kernel:0')"
                )
            if w not in group:
                raise WeightsError(f"{path}: weight '{w}' of layer '{name}' is listed but missing")
            arrays.append(_dataset(h5py, group[w], f"model_weights/{name}/{w}", path))
        if not wnames:
            continue
        if _class(entry) in MODEL_CLASSES:
            _split_nested(entry, (*scope, name), wnames, arrays, out, path)
        else:
            key = (*scope, name)
            out[key] = (wnames, arrays)


def _leaves(entry: dict[str, Any], scope: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The keys (model path + layer name) of every non-model layer under a model entry."""
    keys: list[tuple[str, ...]] = []
    for sub in _container_layers(entry.get("config")):
        sname = _entry_name(sub)
        if _class(sub) in MODEL_CLASSES:
            keys.extend(_leaves(sub, (*scope, sname)))
        elif _class(sub) != "InputLayer":
            keys.append((*scope, sname))
    return keys


def _split_nested(
    entry: dict[str, Any],
    scope: tuple[str, ...],
    wnames: list[str],
    arrays: list[np.ndarray],
    out: KerasWeights,
    path: Path,
) -> None:
    """A nested model's group holds all its inner layers' weights (trainable
    first); hand each to its layer by the layer-name component of its name."""
    leaves = _leaves(entry, scope)
    by_name: dict[str, list[tuple[str, ...]]] = {}
    for key in leaves:
        by_name.setdefault(key[-1], []).append(key)
    per_key: dict[tuple[str, ...], tuple[list[str], list[np.ndarray]]] = {}
    for wname, arr in zip(wnames, arrays):
        comps = wname.split("/")[:-1]
        target = None
        for i, comp in enumerate(comps):
            cands = by_name.get(comp, [])
            if cands:
                # The same layer name in two nested models: prefer the one
                # whose model names appear before it in the weight name.
                target = max(cands, key=lambda k: sum(m in comps[:i] for m in k[len(scope) : -1]))
                break
        if target is None:
            raise WeightsError(
                f"{path}: weight '{wname}' of nested model '{scope[-1]}' matches none of its layers"
            )
        names, arrs = per_key.setdefault(target, ([], []))
        names.append(wname)
        arrs.append(arr)
    out.update(per_key)
