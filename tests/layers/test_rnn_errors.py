"""Sequence models: configurations and inputs tfjs_infer refuses, with a clear
error naming the layer (no expected numbers here: the fixture tests check those)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tfjs_infer


def _write(folder: Path, layers: list[dict[str, Any]], weights: dict[str, np.ndarray]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    specs = [{"name": k, "shape": list(v.shape), "dtype": "float32"} for k, v in weights.items()]
    doc = {
        "format": "layers-model",
        "modelTopology": {"class_name": "Sequential", "config": {"name": "m", "layers": layers}},
        "weightsManifest": [{"paths": ["w.bin"], "weights": specs}],
    }
    (folder / "model.json").write_text(json.dumps(doc))
    (folder / "w.bin").write_bytes(
        b"".join(np.asarray(v, np.float32).tobytes() for v in weights.values())
    )
    return folder / "model.json"


def _lstm(
    folder: Path, shape: list[Any], units: int = 3, kernel_rows: int | None = None, **cfg: Any
) -> Path:
    feats = shape[-1]
    config = {"name": "lstm", "units": units, "batch_input_shape": shape, **cfg}
    w = {
        "lstm/kernel": np.full((kernel_rows or feats, 4 * units), 0.1),
        "lstm/recurrent_kernel": np.full((units, 4 * units), 0.1),
        "lstm/bias": np.zeros(4 * units),
    }
    return _write(folder, [{"class_name": "LSTM", "config": config}], w)


def test_stateful_needs_a_fixed_batch_size(tmp_path: Path) -> None:
    with pytest.raises(tfjs_infer.InvalidModelError, match="fixed batch size"):
        tfjs_infer.load_model(_lstm(tmp_path, [None, 4, 2], stateful=True))


def test_softmax_cell_activation_is_refused(tmp_path: Path) -> None:
    with pytest.raises(tfjs_infer.UnsupportedLayerError, match="lstm"):
        tfjs_infer.load_model(_lstm(tmp_path, [None, 4, 2], activation="softmax"))


def test_kernel_shape_mismatch(tmp_path: Path) -> None:
    with pytest.raises(tfjs_infer.TfjsInferError, match="kernel"):
        tfjs_infer.load_model(_lstm(tmp_path, [None, 4, 2], kernel_rows=3))


def test_input_shape_errors(tmp_path: Path) -> None:
    model = tfjs_infer.load_model(_lstm(tmp_path, [None, None, 2]))
    assert model.predict(np.zeros((2, 5, 2), np.float32)).shape == (2, 3)
    with pytest.raises(tfjs_infer.InputShapeError):
        model.predict(np.zeros((2, 5, 3), np.float32))
    with pytest.raises(tfjs_infer.InputShapeError, match="time steps"):
        model.predict(np.zeros((2, 0, 2), np.float32))


def test_unknown_cell_class_is_refused(tmp_path: Path) -> None:
    cell = {"class_name": "PeepholeLSTMCell", "config": {"name": "c", "units": 3}}
    layers = [
        {
            "class_name": "RNN",
            "config": {"name": "rnn", "cell": cell, "batch_input_shape": [None, 4, 2]},
        }
    ]
    with pytest.raises(tfjs_infer.UnsupportedLayerError, match="PeepholeLSTMCell"):
        tfjs_infer.load_model(_write(tmp_path, layers, {}))


def test_time_distributed_around_a_model_is_refused(tmp_path: Path) -> None:
    inner = {"class_name": "Sequential", "config": {"name": "s", "layers": []}}
    layers = [
        {
            "class_name": "TimeDistributed",
            "config": {"name": "td", "layer": inner, "batch_input_shape": [None, 4, 2]},
        }
    ]
    with pytest.raises(tfjs_infer.UnsupportedLayerError, match="nested model"):
        tfjs_infer.load_model(_write(tmp_path, layers, {}))
