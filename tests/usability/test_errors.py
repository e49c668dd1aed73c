"""Errors a user can cause are tfjs_infer exceptions naming the layer or input and the shapes."""

from __future__ import annotations

import json

import numpy as np
import pytest

import tfjs_infer as ti
from tfjs_infer.errors import InputDtypeError, InputShapeError, InputValueError, TfjsInferError


def _add_model() -> ti.Model:
    """Two inputs of any width added by a layer named 'add' (shape errors surface at run time)."""

    def inp(name: str) -> dict:
        return {
            "class_name": "InputLayer",
            "name": name,
            "inbound_nodes": [],
            "config": {"name": name, "batch_input_shape": [None, None]},
        }

    add = {
        "class_name": "Add",
        "name": "add",
        "config": {"name": "add"},
        "inbound_nodes": [[["a", 0, 0, {}], ["b", 0, 0, {}]]],
    }
    doc = {
        "format": "layers-model",
        "modelTopology": {
            "class_name": "Model",
            "config": {
                "name": "m",
                "layers": [inp("a"), inp("b"), add],
                "input_layers": [["a", 0, 0], ["b", 0, 0]],
                "output_layers": [["add", 0, 0]],
            },
        },
        "weightsManifest": [{"paths": [], "weights": []}],
    }
    return ti.load_model(json.dumps(doc).encode(), weights=b"")


def test_layer_and_shapes_in_core_errors() -> None:
    model = _add_model()
    with pytest.raises(InputShapeError) as info:
        model.predict([np.zeros((2, 3), np.float32), np.zeros((2, 4), np.float32)])
    msg = str(info.value)
    assert "'add'" in msg and "(2, 3)" in msg and "(2, 4)" in msg


def test_input_errors_name_the_input_and_shapes() -> None:
    model = ti.load_model(ti.examples.digits_path())
    with pytest.raises(
        InputShapeError, match=r"input 'pixels': expected shape \(None, 64\), received \(4, 63\)"
    ):
        model.predict(np.zeros((4, 63)))
    with pytest.raises(InputDtypeError, match="input 'pixels'"):
        model.predict(np.array([["x"] * 64]))
    with pytest.raises(InputShapeError, match=r"received keys \['nope'\]"):
        model.predict({"nope": np.zeros((1, 64))})
    with pytest.raises(InputValueError, match="batch_size"):
        model.predict(np.zeros((1, 64)), batch_size=0)
    with pytest.raises(InputValueError, match="verbose"):
        model.predict(np.zeros((1, 64)), verbose="loud")
    two = _add_model()
    with pytest.raises(InputShapeError, match="input 'b' has 3 rows but input 'a' has 2"):
        two.predict([np.zeros((2, 3)), np.zeros((3, 3))])


def test_every_error_is_a_tfjs_infer_error_and_a_builtin() -> None:
    for cls in (
        ti.InvalidModelError,
        ti.UnsupportedLayerError,
        ti.WeightsError,
        ti.InputShapeError,
        ti.InputDtypeError,
        ti.InputValueError,
        ti.DeviceUnavailableError,
        ti.DownloadError,
        ti.MissingDependencyError,
    ):
        assert issubclass(cls, TfjsInferError)
        assert issubclass(cls, (ValueError, TypeError, RuntimeError, OSError, ImportError))
