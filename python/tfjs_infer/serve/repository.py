"""The models a server serves, found once at start-up.

PATH is one model (model.json, its folder, .keras, .h5, .zip or an http(s)
URL) or a model repository laid out as TF Serving lays one out::

    models/                 a repository: one folder per model
      digits/               a model folder holding the model itself ...
        model.json
      mobilenet/            ... or numeric version folders
        1/model.json
        2/model.keras       (the highest version serves by default)

A model's name is its folder's name (``--name`` renames a single model).
Nothing is loaded after start-up: a request can only name what is here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._loading import load_model
from ..errors import InvalidModelError
from ..frontend.lower import TensorInfo
from ..model import Model
from .codec import RequestError

_MODEL_FILES = (".keras", ".h5", ".hdf5", ".zip")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


@dataclass
class ServedModel:
    """One version of one model, loaded and ready."""

    name: str
    version: int
    model: Model
    source: str
    # What the protocols describe: input/output names in order.
    input_names: list[str] = field(default_factory=list)
    output_names: list[str] = field(default_factory=list)
    # The model's inputs, read once (Model.inputs copies its list on every read).
    inputs: list[TensorInfo] = field(default_factory=list)
    input_specs: dict[str, TensorInfo] = field(default_factory=dict)  # by name
    # OIP v2 binary request headers checked before, by their bytes (v2.parse_infer).
    v2_layouts: dict[bytes, Any] = field(default_factory=dict)
    # OIP v2: every output in order, as requested with binary_data_output false / true.
    v2_every_output: dict[bool, list[tuple[str, bool, int]]] = field(default_factory=dict)
    v2_answer_start: bytes = b""  # an OIP v2 answer's bytes up to its outputs (v2.py)

    def __post_init__(self) -> None:
        self.inputs = self.model.inputs
        self.input_specs = {t.name: t for t in self.inputs}
        self.input_names = [t.name for t in self.inputs]
        keys = self.model._output_keys  # Keras 3 dict outputs: the names users see
        self.output_names = list(keys) if keys else [t.name for t in self.model.outputs]


class Repository:
    """Served models by name and version (``get`` raises a 404 for anything else)."""

    def __init__(self, models: dict[str, dict[int, ServedModel]]) -> None:
        self.models = models

    def __iter__(self) -> Iterator[ServedModel]:
        for versions in self.models.values():
            yield from versions.values()

    def versions(self, name: str) -> dict[int, ServedModel]:
        """All versions of model `name`; 404 naming the served models if none."""
        found = self.models.get(name)
        if found is None:
            served = ", ".join(sorted(self.models)) or "none"
            raise RequestError(404, f"model '{name}' is not served here; served models: {served}")
        return found

    def get(self, name: str, version: str | None = None) -> ServedModel:
        """Model `name` at `version` (a decimal string), or its highest version."""
        versions = self.versions(name)
        if version is None or version == "":
            return versions[max(versions)]
        if not version.isdigit():
            raise RequestError(400, f"model version must be a number, received '{version}'")
        found = versions.get(int(version))
        if found is None:
            have = ", ".join(str(v) for v in sorted(versions))
            raise RequestError(
                404, f"model '{name}' has no version {version}; served versions: {have}"
            )
        return found


def open_repository(path: str, name: str | None = None, **load_options: Any) -> Repository:
    """Find and load every model under `path` (see the module docstring)."""
    found = discover(path, name)
    models: dict[str, dict[int, ServedModel]] = {}
    for model_name, version, source in found:
        model = load_model(source, **load_options)
        served = ServedModel(model_name, version, model, str(source))
        models.setdefault(model_name, {})[version] = served
    return Repository(models)


def discover(path: str, name: str | None = None) -> list[tuple[str, int, str]]:
    """(name, version, source) of every model under `path`, without loading them."""
    if path.startswith(("http://", "https://")):
        stem = path.rstrip("/").split("?")[0].rsplit("/", 2)
        guess = stem[-2] if stem[-1] == "model.json" and len(stem) > 1 else stem[-1]
        return [(_check_name(name or Path(guess).stem), 1, path)]
    root = Path(path)
    if not root.exists():
        raise InvalidModelError(f"{path}: no such file or folder")
    if root.is_file():
        base = root.parent.name if root.name == "model.json" else root.stem
        return [(_check_name(name or base), 1, str(root))]
    if _model_in(root) is not None or _is_versioned(root):
        return [(_check_name(name or root.resolve().name), v, s) for v, s in _versions(root)]
    if name is not None:
        raise InvalidModelError(f"{path}: --name renames a single model; this is a repository")
    found = []
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        found += [(_check_name(sub.name), v, s) for v, s in _versions(sub)]
    if not found:
        raise InvalidModelError(
            f"{path}: expected a model (model.json, .keras, .h5, .zip) or a folder of model "
            "folders; found neither"
        )
    return found


def _versions(folder: Path) -> list[tuple[int, str]]:
    source = _model_in(folder)
    if source is not None:
        return [(1, source)]
    found = []
    for sub in folder.iterdir():
        if sub.is_dir() and sub.name.isdigit():
            source = _model_in(sub)
            if source is None:
                raise InvalidModelError(f"{sub}: version folder holds no model")
            found.append((int(sub.name), source))
    if not found:
        raise InvalidModelError(
            f"{folder}: expected model.json, one .keras/.h5/.zip file or numeric version "
            "folders; found none"
        )
    return sorted(found)


def _is_versioned(folder: Path) -> bool:
    subs = [p for p in folder.iterdir() if not p.name.startswith(".")]
    return bool(subs) and all(p.is_dir() and p.name.isdigit() for p in subs)


def _model_in(folder: Path) -> str | None:
    """The model a folder holds: its model.json, or its single model file."""
    if (folder / "model.json").is_file():
        return str(folder / "model.json")
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in _MODEL_FILES]
    if len(files) > 1:
        names = ", ".join(sorted(p.name for p in files))
        raise InvalidModelError(f"{folder}: holds several model files ({names}); keep one")
    return str(files[0]) if files else None


def _check_name(name: str) -> str:
    if not _NAME.match(name):
        raise InvalidModelError(
            f"model name '{name}': expected letters, digits, '_', '.' or '-' (use --name)"
        )
    return name
