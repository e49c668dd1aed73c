"""Activation functions and the advanced-activation layers (ReLU, LeakyReLU,
PReLU, ELU, ThresholdedReLU, Softmax, Activation).

Formulas follow TFJS-FORMAT.md 5.4, per the file's semantics: TF.js and
Keras 2 use hard_sigmoid = clip(0.2 x + 0.5), Keras 3 clip(x / 6 + 0.5); TF.js
computes gelu with an erf approximation, Keras exactly.
"""

from __future__ import annotations

import math
from typing import Any

from .registry import GraphBuilder, LayerCall, Tensor, lowering, norm_enum

# Keras/TF.js spelling (normalized) -> core activation name.
_SIMPLE = {
    "linear": "linear",
    "relu": "relu",
    "relu6": "relu6",
    "selu": "selu",
    "sigmoid": "sigmoid",
    "softplus": "softplus",
    "softsign": "softsign",
    "tanh": "tanh",
    "swish": "swish",
    "silu": "swish",
    "mish": "mish",
    "softmax": "softmax",
    "logsoftmax": "log_softmax",
    "exponential": "exp",
    "gelunew": "gelu_tanh",
}


def activation_attrs(value: Any, semantics: str, where: LayerCall) -> dict[str, Any]:
    """Core attrs ("activation", "act_alpha", ...) for a Keras activation value."""
    if value is None:
        return {"activation": "linear"}
    if isinstance(value, dict):  # {"class_name": "relu", "config": {}}
        cls = value.get("class_name")
        if cls in ("function", "__lambda__") or not isinstance(cls, str):
            raise where.unsupported(f"custom activation {str(value)[:80]} cannot be loaded")
        value = cls
    if not isinstance(value, str):
        raise where.error(f"activation must be a string, found {value!r}")
    key = norm_enum(value)
    if key in _SIMPLE:
        return {"activation": _SIMPLE[key]}
    if key == "elu":
        return {"activation": "elu", "act_alpha": 1.0}
    if key == "hardsigmoid":
        slope = 1.0 / 6.0 if semantics == "keras3" else 0.2
        return {"activation": "hard_sigmoid", "act_alpha": slope, "act_beta": 0.5}
    if key == "gelu":
        return {"activation": "gelu_tfjs" if semantics == "tfjs" else "gelu"}
    if key == "leakyrelu":
        return {"activation": "leaky_relu", "act_alpha": 0.2}
    raise where.unsupported(f"activation '{value}' is not supported")


def _keep_mask(x: Tensor, out: Tensor) -> Tensor:
    """Activation layers pass the Keras mask through (Keras 3; TF.js for most)."""
    out.mask = x.mask
    return out


@lowering("Activation")
def lower_activation(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    x = layer.inputs[0]
    attrs = activation_attrs(layer.config.get("activation"), layer.semantics, layer)
    if attrs["activation"] in ("softmax", "log_softmax") and len(x.shape) < 2:
        raise layer.error("softmax needs an input of rank 2 or more")
    return [_keep_mask(x, b.op("activation", layer, [x], attrs=attrs))]


@lowering("ReLU")
def lower_relu(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    x = layer.inputs[0]
    max_value = layer.config.get("max_value")
    # TF.js reads only max_value; Keras also honours negative_slope and threshold.
    slope = 0.0 if layer.semantics == "tfjs" else layer.config_float("negative_slope", 0.0)
    threshold = 0.0 if layer.semantics == "tfjs" else layer.config_float("threshold", 0.0)
    if max_value is None and slope == 0.0 and threshold == 0.0:
        attrs: dict[str, Any] = {"activation": "relu"}
    elif max_value is not None and float(max_value) == 6.0 and slope == 0.0 and threshold == 0.0:
        # MobileNet's ReLU(6.): clip(relu(x), 0, 6) in TF.js, relu6 in Keras.
        # The kernels fuse relu6 into GEMM and depthwise epilogues.
        attrs = {"activation": "relu6"}
    else:
        cap = math.inf if max_value is None else float(max_value)
        attrs = {
            "activation": "relu_general",
            "act_alpha": cap,
            "act_beta": threshold,
            "act_gamma": slope,
        }
    return [_keep_mask(x, b.op("activation", layer, [x], attrs=attrs))]


@lowering("LeakyReLU")
def lower_leaky_relu(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    x = layer.inputs[0]
    if layer.semantics == "tfjs":
        alpha = layer.config_float("alpha", 0.3)  # TF.js ignores Keras 3's negative_slope
    else:
        key = "negative_slope" if "negative_slope" in layer.config else "alpha"
        alpha = layer.config_float(key, 0.3)
    attrs = {"activation": "leaky_relu", "act_alpha": alpha}
    return [_keep_mask(x, b.op("activation", layer, [x], attrs=attrs))]


@lowering("ELU")
def lower_elu(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    x = layer.inputs[0]
    alpha = layer.config_float("alpha", 1.0)
    if alpha != 1.0:
        layer.tfjs_refuses(f"TF.js 4.22's ELU layer refuses alpha {alpha} (only 1)")
    attrs = {"activation": "elu", "act_alpha": alpha}
    return [_keep_mask(x, b.op("activation", layer, [x], attrs=attrs))]


@lowering("ThresholdedReLU")
def lower_thresholded_relu(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    x = layer.inputs[0]
    attrs = {"activation": "thresholded_relu", "act_alpha": layer.config_float("theta", 1.0)}
    return [_keep_mask(x, b.op("activation", layer, [x], attrs=attrs))]


@lowering("Softmax")
def lower_softmax(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    x = layer.inputs[0]
    rank = len(x.shape)
    # TF.js's default axis is 1 when the key is missing; Keras's is -1.
    axis = layer.config.get("axis", 1 if layer.semantics == "tfjs" else -1)
    if isinstance(axis, list):
        if len(axis) != 1:
            raise layer.unsupported(f"softmax over several axes {axis} is not supported")
        axis = axis[0]
    if not isinstance(axis, int) or not -rank <= axis < rank:
        raise layer.error(f"axis {axis!r} is out of range for input rank {rank}")
    if axis % rank != rank - 1:
        layer.tfjs_refuses(
            f"TF.js 4.22 runs softmax only on the last axis (axis {axis}, rank {rank})"
        )
    return [_keep_mask(x, b.op("softmax", layer, [x], attrs={"axis": axis}))]


@lowering("PReLU")
def lower_prelu(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    x = layer.inputs[0]
    shared = layer.config.get("shared_axes") or []
    if isinstance(shared, int):
        shared = [shared]
    want = [None if d is None else d for d in x.shape[1:]]
    for axis in shared:
        if not isinstance(axis, int) or not 1 <= axis < len(x.shape):
            raise layer.error(f"shared axis {axis!r} is out of range")
        want[axis - 1] = 1
    alpha = layer.weight("alpha", shape=want, index=0)
    return [_keep_mask(x, b.op("prelu", layer, [x], weights={"alpha": alpha}))]
