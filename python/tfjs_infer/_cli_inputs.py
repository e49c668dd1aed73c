"""The tfjs-infer command's input files: data (.npy, .npz, .json, .csv) and
images read into what ``Model.predict`` takes, and --labels-file."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputValueError, TfjsInferError
from .images import is_image_path, load_images
from .io.sidecar import labels_from_metadata, parse_labels_txt
from .model import Model

_DATA_SUFFIXES = (".npy", ".npz", ".json", ".csv")


def read_inputs(
    model: Model, paths: Sequence[str], normalization: str | None = None
) -> tuple[list[str], Any]:
    """Read INPUT arguments into what ``model.predict`` takes, plus a name per row.

    Image files (and folders of them) become one batch; .npy/.npz/.json/.csv
    files give arrays (several files: one per model input, in order).
    """
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(q for q in p.iterdir() if q.is_file() and is_image_path(q))
            if not found:
                raise InputValueError(f"{p}: the folder holds no image files")
            files += found
        elif not p.exists():
            raise InputValueError(f"{p}: no such file")
        else:
            files.append(p)
    images = [f for f in files if is_image_path(f)]
    if images:
        if len(images) != len(files):
            raise InputValueError("give either image files or data files (.npy, .npz, .json, .csv)")
        return [f.name for f in images], load_images(images, model, normalization=normalization)
    for f in files:
        if f.suffix.lower() not in _DATA_SUFFIXES:
            raise InputValueError(
                f"{f}: unknown input type '{f.suffix}'; expected .npy, .npz, .json, .csv or images"
            )
    if len(files) == 1:
        data = _read_data_file(files[0], model)
    else:
        data = _one_file_per_input(files, model)
    first = (
        next(iter(data.values()))
        if isinstance(data, dict)
        else (data[0] if isinstance(data, list) else data)
    )
    n = len(first) if np.ndim(first) > 0 else 1
    return [str(i) for i in range(n)], data


def _one_file_per_input(files: list[Path], model: Model) -> list[Any]:
    """Several data files: the i-th feeds the model's i-th input (checked and named)."""
    names = [t.name for t in model.inputs]
    if len(files) != len(names):
        raise InputValueError(
            f"{len(files)} input files were given, but several files mean one per model input "
            f"and the model has {len(names)} input(s): {', '.join(names)} (give the files in "
            "that order, or one .npz/.json holding an array per input name)"
        )
    arrays = [_read_data_file(f, model) for f in files]
    for f, a, name in zip(files, arrays, names):
        if isinstance(a, (dict, list)):
            raise InputValueError(
                f"{f}: holds several arrays; with one file per input it must hold one array "
                f"(for input '{name}')"
            )
    rows = {f.name: (len(a) if np.ndim(a) else 1) for f, a in zip(files, arrays)}
    if len(set(rows.values())) > 1:
        raise InputValueError(
            "the input files must have the same number of rows (one per sample): "
            + ", ".join(f"{f} -> input '{n}' has {r}" for (f, r), n in zip(rows.items(), names))
        )
    return arrays


def _read_data_file(path: Path, model: Model) -> Any:
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            _check_npy_magic(path)
            return np.load(path, allow_pickle=False)
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
            names = [t.name for t in model.inputs]
            if set(names) <= set(arrays):
                return {k: arrays[k] for k in names}
            if len(arrays) == len(names):
                return list(arrays.values()) if len(names) > 1 else next(iter(arrays.values()))
            raise InputValueError(
                f"{path}: holds arrays {sorted(arrays)}; the model's inputs are {names}"
            )
        if suffix == ".json":
            doc = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(doc, dict):
                return {k: np.asarray(v) for k, v in doc.items()}
            return np.asarray(doc)
        return _read_csv(path, model)
    except (OSError, ValueError) as exc:
        if isinstance(exc, TfjsInferError):
            raise
        raise InputValueError(f"{path}: cannot read ({exc})") from None


def _check_npy_magic(path: Path) -> None:
    """A .npy starts with b"\\x93NUMPY"; anything else gets a message saying so
    (numpy's own is about pickled data)."""
    with path.open("rb") as f:
        head = f.read(6)
    if head != b"\x93NUMPY":
        raise InputValueError(
            f"{path}: not a NumPy .npy file (it starts with {head!r}, expected b'\\x93NUMPY'); "
            "save arrays with numpy.save, or use .csv/.json for text"
        )


def _read_csv(path: Path, model: Model) -> np.ndarray:
    """Numeric CSV, one row per sample; a non-numeric first row is a header."""
    rows = [r for r in csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))) if r]
    if rows and not _numeric(rows[0]):
        rows = rows[1:]
    try:
        x = np.asarray([[float(v) for v in r] for r in rows], dtype=np.float64)
    except ValueError as exc:
        raise InputValueError(f"{path}: not a numeric CSV ({exc})") from None
    shape = model.inputs[0].shape
    fixed = shape[1:]
    flat_rows = len(shape) > 2 and all(d is not None for d in fixed) and x.ndim == 2
    if flat_rows and x.shape[1] == int(np.prod(fixed)):
        x = x.reshape((len(x), *fixed))  # flattened rows of an image-like input
    return x


def _numeric(row: Sequence[str]) -> bool:
    try:
        [float(v) for v in row]
    except ValueError:
        return False
    return True


def read_labels_file(path: str) -> list[str]:
    """Class names from --labels-file: a JSON list or metadata.json, or labels.txt lines."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputValueError(
            f"--labels-file {path}: cannot read it ({exc.strerror or exc})"
        ) from None
    if path.lower().endswith(".json"):
        try:
            doc = json.loads(data)
        except (ValueError, RecursionError) as exc:
            raise InputValueError(f"--labels-file {path}: not valid JSON ({exc})") from None
        labels = doc if isinstance(doc, list) else labels_from_metadata(doc)
        if not isinstance(labels, list):
            raise InputValueError(f"{path}: no labels list found")
        return [str(v) for v in labels]
    labels = parse_labels_txt(data, path)
    if labels is None:
        raise InputValueError(f"{path}: no labels found")
    return labels
