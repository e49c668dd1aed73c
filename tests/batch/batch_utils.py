"""Shared data for the batch tests: the digits example as tables, a zip of it."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

import tfjs_infer as ti

DIGITS = ti.examples.digits_path()


def digits_rows(n: int = 360) -> tuple[np.ndarray, np.ndarray]:
    """n rows of the digits samples (repeated past the 360 held-out ones) and ids."""
    x, _ = ti.examples.digits_samples()
    reps = -(-n // len(x))
    rows = np.ascontiguousarray(np.tile(x, (reps, 1))[:n])
    return rows, np.arange(1000, 1000 + n, dtype=np.int64)


def digits_zip_bytes() -> bytes:
    """The digits model folder as zip bytes (a model built from bytes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for f in sorted(Path(DIGITS).parent.iterdir()):
            z.write(f, f.name)
    return buffer.getvalue()


def reference(x: np.ndarray) -> np.ndarray:
    """In-process predict: what every engine path must equal bitwise."""
    return ti.load_model(DIGITS).predict(x)
