"""Pooling layers: MaxPooling1D/2D/3D, AveragePooling1D/2D/3D and the global
max/average pooling layers (TFJS-FORMAT.md 5.2 and the pooling table of 5.3).

The core ops work channels-last; ``channels_first`` layers are lowered with a
transpose on each side (Keras semantics; TF.js's Pooling1D ignores
``data_format``, but TF.js-saved configs never carry it).
"""

from __future__ import annotations

from typing import Any

from .. import _core
from .layout import as_float, data_format, positive_ints, to_channels_first, to_channels_last
from .masks import layer_mask, masked_global_average_1d
from .registry import GraphBuilder, LayerCall, Tensor, fmt_shape, lowering, require_rank

POOL_CLASSES = tuple(f"{kind}Pooling{k}D" for kind in ("Max", "Average") for k in (1, 2, 3))
GLOBAL_POOL_CLASSES = tuple(
    f"Global{kind}Pooling{k}D" for kind in ("Max", "Average") for k in (1, 2, 3)
)


def spatial_rank(layer: LayerCall) -> int:
    """1, 2 or 3 from the class name ("MaxPooling2D" -> 2)."""
    return int(layer.class_name[-2])


def pooled_length(size: int | None, pool: int, stride: int, same: bool) -> int | None:
    """TF's output length (tfjs-core conv_util): 'same' ceil(in / s), 'valid'
    ceil((in - k + 1) / s); the core's rule (cpp/ops/conv_geometry.h)."""
    if size is None:
        return None
    return _core.conv_output_length(size, pool, stride, 1, "same" if same else "valid")


@lowering(*POOL_CLASSES)
def lower_pool(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    """Windowed max/average pooling; average divides by the real (unpadded) cells."""
    k = spatial_rank(layer)
    x = as_float(layer, b, layer.inputs[0])
    require_rank(layer, x, k + 2)
    pool = positive_ints(layer, "pool_size", k, 2)
    strides = positive_ints(layer, "strides", k, pool)  # strides default to pool_size
    padding = layer.config_enum("padding", ["valid", "same"], "valid")
    channels_first = data_format(layer) == "channels_first"
    if channels_first:
        x = to_channels_last(layer, b, x)
    spatial = []
    for i in range(k):
        size = x.shape[i + 1]
        out = pooled_length(size, pool[i], strides[i], padding == "same")
        if out is not None and out <= 0:
            raise layer.error(
                f"pool_size {pool} is larger than the input {fmt_shape(layer.inputs[0].shape)} "
                f"along spatial axis {i + 1} with 'valid' padding: the output would be empty"
            )
        spatial.append(out)
    attrs: dict[str, Any] = {
        "mode": "max" if layer.class_name.startswith("Max") else "avg",
        "pool_size": list(pool),
        "strides": list(strides),
        "padding": padding,
    }
    if attrs["mode"] == "max" and layer.semantics != "tfjs":
        # TF's MaxPool starts from the lowest float, TF.js's from -inf: a
        # window of only NaN / -inf gives -3.4e38 in Keras, -inf in TF.js.
        attrs["max_from_lowest"] = 1
    y = b.op("pool", layer, [x], attrs=attrs, shape=(x.shape[0], *spatial, x.shape[-1]))
    if channels_first:
        y = to_channels_first(layer, b, y)
    return [y]


@lowering(*GLOBAL_POOL_CLASSES)
def lower_global_pool(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    """Max or mean over every spatial position.

    ``keepdims`` is honoured for Keras files and ignored for TF.js files, as
    TF.js itself ignores it (the output is always (N, C) there).
    """
    k = spatial_rank(layer)
    x = as_float(layer, b, layer.inputs[0])
    require_rank(layer, x, k + 2)
    average = layer.class_name.startswith("GlobalAverage")
    mask = layer_mask(layer)
    if average and k == 1 and mask is not None and layer.semantics != "tfjs":
        return [masked_global_average_pooling_1d(layer, b, x, mask)]
    channels_first = data_format(layer) == "channels_first"
    keepdims = layer.semantics != "tfjs" and layer.config_bool("keepdims", False)
    channel_axis = 1 if channels_first else k + 1
    if any(d == 0 for i, d in enumerate(x.shape) if i not in (0, channel_axis)):
        raise layer.error(f"cannot pool over an empty spatial axis of {fmt_shape(x.shape)}")
    c = x.shape[channel_axis]
    if keepdims:
        shape = (x.shape[0], c, *([1] * k)) if channels_first else (x.shape[0], *([1] * k), c)
    else:
        shape = (x.shape[0], c)
    attrs = {
        "mode": "avg" if average else "max",
        "keepdims": int(keepdims),
        "channels_first": int(channels_first),
    }
    return [b.op("global_pool", layer, [x], attrs=attrs, shape=shape)]


def masked_global_average_pooling_1d(
    layer: LayerCall, b: GraphBuilder, x: Tensor, mask: Tensor
) -> Tensor:
    """Keras's masked GlobalAveragePooling1D: sum(x * mask) / sum(mask) over
    the steps (TFJS-FORMAT.md 5.3; TF.js ignores the mask). A fully masked row
    gives NaN, as in Keras."""
    if data_format(layer) == "channels_first":
        raise layer.unsupported("a masked channels_first input")
    keepdims = layer.config_bool("keepdims", False)
    return masked_global_average_1d(b, layer, x, mask, keepdims=keepdims)
