"""Files that travel beside a model: Teachable Machine's metadata.json and labels.txt.

- ``metadata.json`` (TFJS-FORMAT.md section 8): image and pose exports list the
  class names under ``labels``, audio (speech-commands) exports under
  ``wordLabels``; ``imageSize`` and ``grayscale`` say how to prepare images.
- ``labels.txt`` of the Teachable Machine Keras export: one ``"<index> <label>"``
  line per class. Plain one-label-per-line files are accepted too.

A sidecar that cannot be parsed is ignored with a warning: it is advisory and
must not stop a model from loading.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from typing import Any

from .spec import ModelSpec

MAX_SIDECAR_BYTES = 16 << 20

# Reads a file beside the model by name; returns None when it is absent.
SidecarReader = Callable[[str], "bytes | None"]


def parse_metadata_json(data: bytes, source: str = "metadata.json") -> dict[str, Any]:
    """metadata.json content as a dict ({} with a warning when it is not a JSON object)."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        warnings.warn(f"{source}: ignored, not valid JSON ({exc})", stacklevel=3)
        return {}
    if not isinstance(doc, dict):
        warnings.warn(f"{source}: ignored, expected a JSON object", stacklevel=3)
        return {}
    return doc


def labels_from_metadata(meta: dict[str, Any]) -> list[str] | None:
    """Class names from Teachable Machine metadata (image/pose ``labels``, audio ``wordLabels``)."""
    for key in ("labels", "wordLabels"):
        value = meta.get(key)
        if (
            isinstance(value, list)
            and value
            and all(isinstance(v, (str, int, float)) for v in value)
        ):
            return [str(v) for v in value]
    return None


def parse_labels_txt(data: bytes, source: str = "labels.txt") -> list[str] | None:
    """Labels from ``labels.txt``: ``"<index> <label>"`` lines (indices 0..n-1 in any
    order) or one plain label per line. None, with a warning, when malformed.

    >>> parse_labels_txt(b"0 Class 1\\n1 Class 2\\n")
    ['Class 1', 'Class 2']
    >>> parse_labels_txt(b"cat\\ndog\\n")
    ['cat', 'dog']
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        warnings.warn(f"{source}: ignored, not UTF-8 text", stacklevel=3)
        return None
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return None
    pairs = [line.split(None, 1) for line in lines]
    indexed = all(len(p) == 2 and p[0].isdigit() for p in pairs)
    if not indexed:
        return lines
    by_index = {int(p[0]): p[1].strip() for p in pairs}
    if len(by_index) != len(pairs) or sorted(by_index) != list(range(len(pairs))):
        warnings.warn(
            f"{source}: ignored, the indices must be 0 to {len(pairs) - 1} without repeats",
            stacklevel=3,
        )
        return None
    return [by_index[i] for i in range(len(pairs))]


def attach_sidecars(spec: ModelSpec, read: SidecarReader, *, metadata: bool = True) -> ModelSpec:
    """Read metadata.json (when `metadata`) and labels.txt through `read` into `spec`.

    Labels already in the model file (``userDefinedMetadata``) take precedence,
    then metadata.json, then labels.txt.
    """
    if metadata:
        raw = read("metadata.json")
        if raw is not None:
            meta = parse_metadata_json(raw, _name(spec, "metadata.json"))
            for key, value in meta.items():
                spec.metadata.setdefault(key, value)
    if spec.labels is None:
        spec.labels = labels_from_metadata(spec.metadata)
    if spec.labels is None:
        raw = read("labels.txt")
        if raw is not None:
            spec.labels = parse_labels_txt(raw, _name(spec, "labels.txt"))
    return spec


def _name(spec: ModelSpec, file: str) -> str:
    return f"{file} beside {spec.source}" if spec.source else file


def read_limited(path: Any, limit: int = MAX_SIDECAR_BYTES) -> bytes | None:
    """Bytes of the local file `path`, or None when absent, not a file, or over `limit`."""
    try:
        if not path.is_file() or path.stat().st_size > limit:
            return None
        return bytes(path.read_bytes())
    except OSError:
        return None


__all__ = [
    "attach_sidecars",
    "labels_from_metadata",
    "parse_labels_txt",
    "parse_metadata_json",
    "read_limited",
]
