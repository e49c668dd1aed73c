"""Convolution layers: Conv1D/2D/3D, Conv1D/2D/3DTranspose, DepthwiseConv1D/2D,
SeparableConv1D/2D.

The core ops are channels-last only; ``channels_first`` data is transposed in
and out around them, following Keras (TF.js's Conv1D and SeparableConv2D get
channels_first wrong; TFJS-FORMAT.md 5.2). Padding follows TF: the odd extra
row/column of 'same' goes at the bottom/right; 'causal' (Keras Conv1D and
SeparableConv1D) left-pads (k - 1) * dilation.

Where TF.js and Keras differ, ``layer.semantics`` decides:

* TF.js ignores ``dilation_rate`` for DepthwiseConv2D and ``output_padding``
  and ``dilation_rate`` for Conv2DTranspose/Conv3DTranspose;
* TF.js refuses 'causal' padding at predict time and cannot load ``groups``;
  the Keras meaning is implemented for every file.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .activations import activation_attrs
from .registry import GraphBuilder, LayerCall, Tensor, fmt_shape, lowering


class _Conv:
    """The options shared by every convolution layer, read and validated."""

    def __init__(self, layer: LayerCall, rank: int, *, allow_causal: bool, dilation: bool = True):
        self.layer = layer
        self.rank = rank
        self.kernel_size = layer.config_ints("kernel_size", rank)
        self.strides = layer.config_ints("strides", rank, 1)
        self.dilation = layer.config_ints("dilation_rate", rank, 1) if dilation else (1,) * rank
        choices = ["valid", "same", "causal"] if allow_causal else ["valid", "same"]
        self.padding = layer.config_enum("padding", choices, "valid")
        if self.padding == "causal":
            layer.tfjs_refuses("TF.js 4.22 refuses 'causal' padding at predict time")
        fmt = layer.config.get("data_format")
        self.channels_first = (
            fmt is not None
            and layer.config_enum(
                "data_format", ["channels_last", "channels_first"], "channels_last"
            )
            == "channels_first"
        )
        # The kernel size shapes the weights looked up before the op exists;
        # strides and dilations (positive, not both > 1) are the core's to check.
        if any(v < 1 for v in self.kernel_size):
            raise layer.error(
                f"config 'kernel_size' must hold positive integers, found {list(self.kernel_size)}"
            )
        self.activation = activation_attrs(layer.config.get("activation"), layer.semantics, layer)
        self.use_bias = layer.config_bool("use_bias", True)

    def attrs(self, **extra: Any) -> dict[str, Any]:
        return {
            "strides": list(self.strides),
            "dilations": list(self.dilation),
            "padding": self.padding,
            **extra,
        }


def _channels_last_input(
    b: GraphBuilder, layer: LayerCall, x: Tensor, rank: int, first: bool
) -> Tensor:
    if len(x.shape) != rank + 2:
        raise layer.error(
            f"expected an input of rank {rank + 2}, received shape {fmt_shape(x.shape)}"
        )
    if first:
        perm = [0, *range(2, rank + 2), 1]
        x = b.op(
            "transpose",
            layer.name + "/to_channels_last",
            [x],
            attrs={"perm": perm},
        )
    if x.shape[-1] is None:
        raise layer.error(f"the channel axis of input {fmt_shape(x.shape)} must be known")
    return x


def _restore_format(b: GraphBuilder, layer: LayerCall, y: Tensor, rank: int, first: bool) -> Tensor:
    if not first:
        return y
    perm = [0, rank + 1, *range(1, rank + 1)]
    return b.op(
        "transpose",
        layer.name + "/to_channels_first",
        [y],
        attrs={"perm": perm},
    )


def _bias(layer: LayerCall, conv: _Conv, n: int, index: int) -> np.ndarray | None:
    return layer.weight("bias", shape=(n,), index=index) if conv.use_bias else None


# -- forward convolutions -----------------------------------------------------
def _lower_conv(layer: LayerCall, b: GraphBuilder, rank: int) -> list[Tensor]:
    conv = _Conv(layer, rank, allow_causal=rank == 1)
    filters = layer.config_int("filters", minimum=1)
    groups = (
        layer.config_int("groups", 1, minimum=1) if layer.config.get("groups") is not None else 1
    )
    if groups > 1:
        layer.tfjs_refuses("TF.js 4.22's convolutions have no groups")
    x = _channels_last_input(b, layer, layer.inputs[0], rank, conv.channels_first)
    cin = x.shape[-1]
    if cin % groups or filters % groups:
        raise layer.error(
            f"groups={groups} must divide both the input channels ({cin}) and filters ({filters})"
        )
    kernel = layer.weight("kernel", shape=(*conv.kernel_size, cin // groups, filters), index=0)
    bias = _bias(layer, conv, filters, 1)
    attrs = conv.attrs(groups=groups, **conv.activation)
    y = b.op(
        f"conv{rank}d",
        layer,
        [x],
        attrs=attrs,
        weights={"kernel": kernel, "bias": bias},
    )
    return [_restore_format(b, layer, y, rank, conv.channels_first)]


@lowering("Conv1D")
def lower_conv1d(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    """Keras/TF.js Conv1D -> core "conv1d" (causal padding as in Keras)."""
    return _lower_conv(layer, b, 1)


@lowering("Conv2D")
def lower_conv2d(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    """Keras/TF.js Conv2D -> core "conv2d" (GEMM; bias, activation and a following
    BatchNormalization fused at compile)."""
    return _lower_conv(layer, b, 2)


@lowering("Conv3D")
def lower_conv3d(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    """Keras/TF.js Conv3D -> core "conv3d"."""
    return _lower_conv(layer, b, 3)


# -- transposed convolutions ----------------------------------------------------
def _lower_conv_transpose(layer: LayerCall, b: GraphBuilder, rank: int) -> list[Tensor]:
    tfjs = layer.semantics == "tfjs"
    # TF.js ignores dilation_rate and output_padding (it never even saves them).
    conv = _Conv(layer, rank, allow_causal=False, dilation=not tfjs)
    filters = layer.config_int("filters", minimum=1)
    output_padding: tuple[int, ...] | None = None
    if not tfjs and layer.config.get("output_padding") is not None:
        output_padding = layer.config_ints("output_padding", rank)
        for pad, stride in zip(output_padding, conv.strides):
            if pad < 0 or pad >= stride:
                raise layer.error(
                    f"output_padding {list(output_padding)} must be non-negative and smaller "
                    f"than the strides {list(conv.strides)}"
                )
    x = _channels_last_input(b, layer, layer.inputs[0], rank, conv.channels_first)
    cin = x.shape[-1]
    kernel = layer.weight("kernel", shape=(*conv.kernel_size, filters, cin), index=0)
    bias = _bias(layer, conv, filters, 1)
    # The output lengths (Keras deconv_output_length) and TF's check that the
    # forward convolution of the output gives the input back are the op's.
    pads = output_padding or (None,) * rank
    attrs = conv.attrs(output_padding=[-1 if p is None else p for p in pads], **conv.activation)
    y = b.op(
        f"conv{rank}d_transpose",
        layer,
        [x],
        attrs=attrs,
        weights={"kernel": kernel, "bias": bias},
    )
    return [_restore_format(b, layer, y, rank, conv.channels_first)]


@lowering("Conv1DTranspose")
def lower_conv1d_transpose(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    """Keras Conv1DTranspose -> core "conv1d_transpose"."""
    return _lower_conv_transpose(layer, b, 1)


@lowering("Conv2DTranspose")
def lower_conv2d_transpose(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    """Keras/TF.js Conv2DTranspose -> core "conv2d_transpose" (the gradient of Conv2D)."""
    return _lower_conv_transpose(layer, b, 2)


@lowering("Conv3DTranspose")
def lower_conv3d_transpose(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    """Keras/TF.js Conv3DTranspose -> core "conv3d_transpose"."""
    return _lower_conv_transpose(layer, b, 3)


# -- depthwise and separable ------------------------------------------------------
def _depthwise_kernel(layer: LayerCall, shape: tuple) -> np.ndarray:
    """Keras 3 names the DepthwiseConv weight 'kernel'; TF.js and Keras 2 say
    'depthwise_kernel', as SeparableConv always does. Canonical index 0."""
    if layer.class_name.startswith("Separable"):
        names = ["depthwise_kernel"]
    elif layer.semantics == "keras3":
        names = ["kernel", "depthwise_kernel"]
    else:
        names = ["depthwise_kernel", "kernel"]
    if not layer.weights.in_order:
        for name in names:
            if layer.has_weight(name):
                return layer.weight(name, shape=shape, index=0)
    return layer.weight(names[0], shape=shape, index=0)


def _depthwise_op(
    b: GraphBuilder,
    layer: LayerCall,
    name: str,
    x: Tensor,
    conv: _Conv,
    dm: int,
    kernel: np.ndarray,
    bias: np.ndarray | None,
    act: dict[str, Any],
) -> Tensor:
    cin = x.shape[-1]
    # (k..., cin, dm) -> (k..., cin * dm): the same memory order, the output
    # channel c * dm + m on the last axis (so BatchNorm folds into it).
    flat = kernel.reshape(*conv.kernel_size, cin * dm)
    return b.op(
        f"depthwise_conv{conv.rank}d",
        name,
        [x],
        attrs=conv.attrs(depth_multiplier=dm, **act),
        weights={"kernel": flat, "bias": bias},
    )


def _lower_depthwise(layer: LayerCall, b: GraphBuilder, rank: int) -> list[Tensor]:
    # TF.js passes no dilation to its depthwise op: dilation_rate is ignored.
    conv = _Conv(layer, rank, allow_causal=False, dilation=layer.semantics != "tfjs")
    dm = layer.config_int("depth_multiplier", 1, minimum=1)
    x = _channels_last_input(b, layer, layer.inputs[0], rank, conv.channels_first)
    cin = x.shape[-1]
    kernel = _depthwise_kernel(layer, (*conv.kernel_size, cin, dm))
    bias = _bias(layer, conv, cin * dm, 1)
    y = _depthwise_op(b, layer, layer.name, x, conv, dm, kernel, bias, conv.activation)
    return [_restore_format(b, layer, y, rank, conv.channels_first)]


@lowering("DepthwiseConv1D")
def lower_depthwise_conv1d(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    """Keras DepthwiseConv1D -> core "depthwise_conv1d"."""
    return _lower_depthwise(layer, b, 1)


@lowering("DepthwiseConv2D")
def lower_depthwise_conv2d(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    """Keras/TF.js DepthwiseConv2D -> core "depthwise_conv2d" (direct SIMD kernel)."""
    return _lower_depthwise(layer, b, 2)


def _lower_separable(layer: LayerCall, b: GraphBuilder, rank: int) -> list[Tensor]:
    conv = _Conv(layer, rank, allow_causal=rank == 1)
    filters = layer.config_int("filters", minimum=1)
    x = _channels_last_input(b, layer, layer.inputs[0], rank, conv.channels_first)
    cin = x.shape[-1]
    if layer.config.get("depth_multiplier") is None:
        # TF.js's getConfig() never saves depth_multiplier (so TF.js cannot
        # reload its own files with dm > 1): take it from the weight's shape.
        dw = _depthwise_kernel(layer, (*conv.kernel_size, cin, None))
        dm = dw.shape[-1]
    else:
        dm = layer.config_int("depth_multiplier", 1, minimum=1)
        dw = _depthwise_kernel(layer, (*conv.kernel_size, cin, dm))
    pw = layer.weight("pointwise_kernel", shape=(*(1,) * rank, cin * dm, filters), index=1)
    bias = _bias(layer, conv, filters, 2)
    # Depthwise step (strides, dilation, padding), then a 1x1 convolution that
    # carries the bias and the activation (and any BatchNorm folded later).
    mid = _depthwise_op(
        b, layer, layer.name + "/depthwise", x, conv, dm, dw, None, {"activation": "linear"}
    )
    ones = [1] * rank
    y = b.op(
        f"conv{rank}d",
        layer,
        [mid],
        attrs={"strides": ones, "dilations": ones, "padding": "valid", **conv.activation},
        weights={"kernel": pw, "bias": bias},
    )
    return [_restore_format(b, layer, y, rank, conv.channels_first)]


@lowering("SeparableConv1D")
def lower_separable_conv1d(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    """Keras SeparableConv1D -> depthwise_conv1d + 1x1 conv1d."""
    return _lower_separable(layer, b, 1)


@lowering("SeparableConv2D")
def lower_separable_conv2d(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    """Keras/TF.js SeparableConv2D -> depthwise_conv2d + 1x1 conv2d."""
    return _lower_separable(layer, b, 2)
