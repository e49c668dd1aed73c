"""ModelSpec: what a format reader hands to the frontend (pure data)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class ModelSpec:
    """A model as read from disk, before lowering.

    Attributes
    ----------
    topology:
        The Keras model config, ``{"class_name": ..., "config": ...}``.
    weights:
        Weight name -> array (float32 or int32), dequantized.
    semantics:
        ``"tfjs"``, ``"keras2"`` or ``"keras3"``.
    source:
        Where the model came from (a path or URL), for messages.
    keras_weights:
        For Keras files (io/keras.py): layer key -> (weight names or None,
        arrays in canonical order). The key is the nested model names plus the
        layer name; a sub-object kept apart (MultiHeadAttention's
        ``query_dense``...) adds its path components. ``.h5`` files give the
        names (``dense/kernel:0``), ``.keras`` files None. The TF.js reader
        leaves this None and matches ``weights`` by name instead.
    """

    topology: dict[str, Any]
    weights: dict[str, np.ndarray]
    semantics: str = "tfjs"
    source: str = ""
    format: str = "tfjs-layers"
    keras_version: str | None = None
    generated_by: str | None = None
    converted_by: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    user_defined_metadata: dict[str, Any] | None = None
    labels: list[str] | None = None
    keras_weights: dict[tuple[str, ...], tuple[list[str] | None, list[np.ndarray]]] | None = None
    folder: Path | None = None
    # Why `semantics` was chosen (who wrote the file), for Model.semantics.
    provenance: str = ""
