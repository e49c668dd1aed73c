"""Bad configurations of the pooling / padding / resampling / preprocessing
layers: each raises a tfjs_infer error naming the layer. Built from real
fixtures with one config value changed."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

import tfjs_infer
from fixture_utils import FIXTURES, arrays, read_io
from tfjs_infer.errors import InputShapeError, InvalidModelError, UnsupportedLayerError

TFJS = FIXTURES / "tfjs_pool"
KERAS = FIXTURES / "keras_pool"


def edited_tfjs(tmp_path: Path, case: str, edit: Callable[[dict[str, Any]], None]) -> Path:
    """A copy of a TF.js case whose layer config named 'pool'/'layer' is edited."""
    dst = tmp_path / case
    shutil.copytree(TFJS / case, dst)
    doc = json.loads((dst / "model.json").read_text())
    for layer in doc["modelTopology"]["config"]["layers"]:
        if layer["config"]["name"] in ("pool", "layer", "enc"):
            edit(layer["config"])
    (dst / "model.json").write_text(json.dumps(doc))
    return dst / "model.json"


def edited_keras(tmp_path: Path, case: str, edit: Callable[[dict[str, Any]], None]) -> Path:
    """A copy of a Keras 3 .keras case whose layer 'pool'/'layer' config is edited."""
    src = KERAS / case / "model.keras"
    dst = tmp_path / f"{case}.keras"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "config.json":
                doc = json.loads(data)
                for layer in doc["config"]["layers"]:
                    if layer["config"]["name"] in ("pool", "layer"):
                        edit(layer["config"])
                data = json.dumps(doc).encode()
            zout.writestr(item, data)
    return dst


def _set(**kv: Any) -> Callable[[dict[str, Any]], None]:
    return lambda cfg: cfg.update(kv)


@pytest.mark.parametrize(
    ("case", "edit", "error", "words"),
    [
        ("max2d_valid_default", _set(pool_size=[8, 2]), InvalidModelError, "larger than the input"),
        ("avg1d_valid_k4_s1", _set(pool_size=[9]), InvalidModelError, "output would be empty"),
        ("max2d_valid_default", _set(pool_size=[0, 2]), InvalidModelError, "pool_size"),
        ("max2d_valid_default", _set(strides=[1, 2, 3]), InvalidModelError, "strides"),
        ("max2d_valid_default", _set(padding="full"), InvalidModelError, "padding"),
        (
            "max2d_valid_default",
            _set(data_format="channels_middle"),
            InvalidModelError,
            "data_format",
        ),
        ("zeropad2d_asymmetric", _set(padding=[[1, -2], [0, 3]]), InvalidModelError, "padding"),
        ("zeropad2d_asymmetric", _set(padding=[1, 2, 3]), InvalidModelError, "padding"),
        ("zeropad2d_asymmetric", _set(padding="same"), InvalidModelError, "padding"),
        ("cropping2d_int", _set(cropping=3), InvalidModelError, "removes every one of the"),
        ("cropping2d_int", _set(cropping=[[1, 1, 1], [0, 0]]), InvalidModelError, "cropping"),
        (
            "upsampling2d_bilinear_2x2",
            _set(interpolation="bicubic"),
            UnsupportedLayerError,
            "bicubic",
        ),
        (
            "upsampling2d_bilinear_2x2",
            _set(interpolation="cubic_spline"),
            InvalidModelError,
            "interpolation",
        ),
        ("upsampling2d_nearest_default", _set(size=[2, 0]), InvalidModelError, "size"),
        ("category_count", _set(output_mode="tf_idf"), UnsupportedLayerError, "tf_idf"),
        ("category_count", _set(num_tokens=0), InvalidModelError, "num_tokens"),
    ],
)
def test_bad_tfjs_config(tmp_path, case, edit, error, words) -> None:
    path = edited_tfjs(tmp_path, case, edit)
    with pytest.raises(error, match=words) as info:
        tfjs_infer.load_model(path)
    assert "'pool'" in str(info.value) or "'layer'" in str(info.value) or "'enc'" in str(info.value)


@pytest.mark.parametrize(
    ("case", "edit", "error", "words"),
    [
        ("k3_resizing_bilinear_down", _set(interpolation="area"), UnsupportedLayerError, "area"),
        (
            "k3_resizing_bilinear_down",
            _set(interpolation="lanczos5"),
            UnsupportedLayerError,
            "lanczos5",
        ),
        ("k3_resizing_bilinear_down", _set(antialias=True), UnsupportedLayerError, "antialias"),
        (
            "k3_resizing_bilinear_down",
            _set(pad_to_aspect_ratio=True),
            UnsupportedLayerError,
            "pad_to_aspect_ratio",
        ),
        ("k3_resizing_bilinear_down", _set(height=0), InvalidModelError, "height"),
        ("k3_center_crop_fits", _set(width="wide"), InvalidModelError, "width"),
        ("k3_cropping3d", _set(cropping=[[1, 0], [0, 1]]), InvalidModelError, "cropping"),
        ("k3_upsampling3d", _set(size=[2, 2]), InvalidModelError, "size"),
        ("k3_gap2d_keepdims", _set(keepdims="yes"), InvalidModelError, "keepdims"),
    ],
)
def test_bad_keras_config(tmp_path, case, edit, error, words) -> None:
    path = edited_keras(tmp_path, case, edit)
    with pytest.raises(error, match=words) as info:
        tfjs_infer.load_model(path)
    assert "'layer'" in str(info.value) or "'pool'" in str(info.value)


def test_unknown_spatial_size_is_checked_at_predict(tmp_path) -> None:
    """A fully convolutional model (spatial sizes unknown) loads; a too-small
    image is refused at predict with the layer's name."""

    dst = tmp_path / "dyn"
    shutil.copytree(TFJS / "max2d_valid_k3x2_s2x1", dst)
    doc = json.loads((dst / "model.json").read_text())
    for layer in doc["modelTopology"]["config"]["layers"]:
        if "batch_input_shape" in layer["config"]:
            layer["config"]["batch_input_shape"] = [None, None, None, 3]
    (dst / "model.json").write_text(json.dumps(doc))
    model = tfjs_infer.load_model(dst)
    io = read_io(TFJS / "max2d_valid_k3x2_s2x1")
    (x,), (want,) = arrays(io["inputs"]), arrays(io["outputs"])
    np.testing.assert_allclose(model.predict(x), want, rtol=1e-6)
    assert model.predict(np.zeros((1, 5, 9, 3), np.float32)).shape == (1, 2, 8, 3)
    with pytest.raises(InputShapeError, match=r"'pool'.*larger than the input size 2"):
        model.predict(np.zeros((1, 2, 9, 3), np.float32))


def test_category_encoding_id_out_of_range() -> None:
    model = tfjs_infer.load_model(TFJS / "category_count")
    with pytest.raises(tfjs_infer.InputValueError, match=r"'enc'.*value 6"):
        model.predict(np.array([[0, 1, 6, 2, 3, 5]], np.int32))
