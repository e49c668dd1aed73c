"""Invalid convolution configurations and inputs raise named tfjs_infer errors.

Each case edits one key of a real TF.js fixture's model.json (the weights stay
TF.js's own) and checks the exception class and that the message names the
layer and what was wrong.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tfjs_infer
from fixture_utils import FIXTURES
from tfjs_infer.io import read_model


def edited(tmp_path: Path, case: str, **config: Any) -> Path:
    src = FIXTURES / "tfjs_conv" / case
    dst = tmp_path / case
    shutil.copytree(src, dst)
    doc = json.loads((dst / "model.json").read_text())
    layer = doc["modelTopology"]["config"]["layers"][0]
    layer["config"].update(config)
    (dst / "model.json").write_text(json.dumps(doc))
    return dst / "model.json"


@pytest.mark.parametrize(
    "case,config,words",
    [
        ("conv2d_valid", {"strides": [2, 2], "dilation_rate": [2, 1]}, "dilation_rate"),
        ("conv2d_valid", {"padding": "causal"}, "padding"),
        ("conv2d_valid", {"padding": "full"}, "padding"),
        ("conv2d_valid", {"groups": 2}, "groups=2"),
        ("conv2d_valid", {"kernel_size": [4, 4]}, "kernel"),
        ("conv2d_valid", {"filters": 0}, "filters"),
        ("conv2d_valid", {"strides": [0, 1]}, "strides"),
        ("conv2d_valid", {"data_format": "nchw"}, "data_format"),
        ("conv2d_valid", {"kernel_size": [3, 3, 3]}, "kernel_size"),
        ("depthwise_same_s1", {"depth_multiplier": 2}, "depthwise_kernel"),
        ("conv2d_transpose_same_s2", {"padding": "causal"}, "padding"),
    ],
)
def test_bad_config_is_named(tmp_path, case, config, words):
    path = edited(tmp_path, case, **config)
    with pytest.raises(tfjs_infer.InvalidModelError) as info:
        tfjs_infer.load_model(path)
    msg = str(info.value)
    assert words in msg and "'" in msg, msg


def test_keras_output_padding_must_be_below_stride(tmp_path):
    path = edited(tmp_path, "conv2d_transpose_same_s2", output_padding=[2, 1])
    spec = read_model(path)
    spec.semantics = "keras2"
    with pytest.raises(tfjs_infer.InvalidModelError, match="output_padding"):
        tfjs_infer.Model(spec)
    # TF.js ignores output_padding: the same file loads as TF.js would run it.
    assert tfjs_infer.load_model(path).outputs[0].shape == (None, 8, 10, 4)


def test_keras_even_kernel_same_without_output_padding_is_refused(tmp_path):
    # (in - 1) * s for a 4x4 kernel, stride 2, 'same', output_padding 0: TF refuses it.
    path = edited(tmp_path, "conv2d_transpose_same_even_kernel", output_padding=[0, 0])
    spec = read_model(path)
    spec.semantics = "keras2"
    with pytest.raises(tfjs_infer.InvalidModelError, match="inconsistent"):
        tfjs_infer.Model(spec)


def test_input_smaller_than_window(tmp_path):
    path = edited(tmp_path, "conv2d_valid", batch_input_shape=[None, None, None, 3])
    model = tfjs_infer.load_model(path)
    assert model.predict(np.zeros((1, 3, 3, 3), np.float32)).shape == (1, 1, 1, 4)
    with pytest.raises(tfjs_infer.InputShapeError, match="smaller than the kernel"):
        model.predict(np.zeros((1, 2, 5, 3), np.float32))
    with pytest.raises(tfjs_infer.InputShapeError):
        model.predict(np.zeros((1, 5, 5, 2), np.float32))


def test_any_image_size_with_same_padding(tmp_path):
    path = edited(tmp_path, "conv2d_same_stride2_odd", batch_input_shape=[None, None, None, 3])
    model = tfjs_infer.load_model(path)
    assert model.outputs[0].shape == (None, None, None, 5)
    for h, w in [(1, 1), (7, 9), (8, 3)]:
        out = model.predict(np.ones((2, h, w, 3), np.float32))
        assert out.shape == (2, -(-h // 2), -(-w // 2), 5)
