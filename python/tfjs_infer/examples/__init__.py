"""The bundled example: a digits classifier trained with Keras and converted
to TF.js (see examples/make_digits_example.py in the repository)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

_DIGITS = Path(__file__).parent / "digits"


def digits_path() -> Path:
    """Path of the bundled digits model.json."""
    return _DIGITS / "model.json"


def digits_samples() -> tuple[np.ndarray, np.ndarray]:
    """Held-out samples (x scaled to [0, 1], shape (n, 64)) and their labels."""
    with np.load(_DIGITS / "samples.npz") as data:
        return data["x"].astype(np.float32), data["y"].astype(np.int64)


def digits_info() -> dict[str, Any]:
    """example.json: labels and the accuracy Keras measured on the samples."""
    return json.loads((_DIGITS / "example.json").read_text())
