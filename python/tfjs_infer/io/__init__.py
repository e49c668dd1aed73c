"""Format readers: each turns a file into a ModelSpec."""

from __future__ import annotations

from pathlib import Path

from ..errors import InvalidModelError
from .spec import ModelSpec
from .tfjs import parse_model_json, read_tfjs

__all__ = ["ModelSpec", "parse_model_json", "read_model", "read_tfjs"]


def read_model(source: str | Path) -> ModelSpec:
    """Read a model from a path: model.json, a folder holding one, .keras or .h5."""
    path = Path(source)
    if path.is_dir():
        if (path / "model.json").is_file():
            return read_tfjs(path / "model.json")
        raise InvalidModelError(f"{path}: folder has no model.json")
    suffix = path.suffix.lower()
    if suffix in (".keras", ".h5", ".hdf5"):
        from . import keras as keras_io  # optional: needs h5py

        return keras_io.read_keras(path)
    if not path.exists():
        raise InvalidModelError(f"{path}: no such file")
    return read_tfjs(path)
