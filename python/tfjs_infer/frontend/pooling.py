"""Pooling layers: MaxPooling1D/2D/3D, AveragePooling1D/2D/3D and the global
max/average pooling layers (TFJS-FORMAT.md 5.2 and the pooling table of 5.3).

The core ops work channels-last; ``channels_first`` layers are lowered with a
transpose on each side (Keras semantics; TF.js's Pooling1D ignores
``data_format``, but TF.js-saved configs never carry it).
"""

from __future__ import annotations

from typing import Any

from .layout import as_float, data_format, positive_ints, to_channels_first, to_channels_last
from .masks import layer_mask, masked_global_average_1d
from .registry import GraphBuilder, LayerCall, Tensor, lowering, require_rank

POOL_CLASSES = tuple(f"{kind}Pooling{k}D" for kind in ("Max", "Average") for k in (1, 2, 3))
GLOBAL_POOL_CLASSES = tuple(
    f"Global{kind}Pooling{k}D" for kind in ("Max", "Average") for k in (1, 2, 3)
)


def spatial_rank(layer: LayerCall) -> int:
    """1, 2 or 3 from the class name ("MaxPooling2D" -> 2)."""
    return int(layer.class_name[-2])


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
    y = b.op("pool", layer, [x], attrs=attrs)
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
    attrs = {
        "mode": "avg" if average else "max",
        "keepdims": int(keepdims),
        "channels_first": int(channels_first),
    }
    return [b.op("global_pool", layer, [x], attrs=attrs)]


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
