"""Layout and config helpers shared by the spatial layers (pooling,
preprocessing): a layer's data_format, the transposes between channels_first
and the core's channels-last layout, the cast of integer images to float, and
the positive-int tuples of pool/stride/size configs.
"""

from __future__ import annotations

from .registry import GraphBuilder, LayerCall, Tensor


def data_format(layer: LayerCall) -> str:
    return layer.config_enum("data_format", ["channels_last", "channels_first"], "channels_last")


def to_channels_last(layer: LayerCall, b: GraphBuilder, x: Tensor) -> Tensor:
    """(N, C, S...) -> (N, S..., C)."""
    rank = len(x.shape)
    perm = [0, *range(2, rank), 1]
    return b.op(
        "transpose",
        layer.name + "/to_channels_last",
        [x],
        attrs={"perm": perm},
    )


def to_channels_first(layer: LayerCall, b: GraphBuilder, x: Tensor) -> Tensor:
    """(N, S..., C) -> (N, C, S...)."""
    rank = len(x.shape)
    perm = [0, rank - 1, *range(1, rank - 1)]
    return b.op(
        "transpose",
        layer.name + "/to_channels_first",
        [x],
        attrs={"perm": perm},
    )


def as_float(layer: LayerCall, b: GraphBuilder, x: Tensor) -> Tensor:
    """Integer images (an int32 model input) are cast to float32 first, as
    Keras's pooling and resizing layers compute in float."""
    if x.dtype == "float32":
        return x
    out = b.op(
        "scale_shift",
        layer.name + "/to_float",
        [x],
        attrs={"scale": [1.0], "offset": [0.0]},
    )
    out.mask = x.mask
    return out


def positive_ints(
    layer: LayerCall, key: str, k: int, default: int | tuple[int, ...]
) -> tuple[int, ...]:
    """An int or k ints (pool_size, strides, size); missing or null means `default`."""
    value = layer.config.get(key)
    if value is None:
        return default if isinstance(default, tuple) else (default,) * k
    out = layer.config_ints(key, k)
    if any(v < 1 for v in out):
        raise layer.error(f"config '{key}' must hold positive integers, found {value!r}")
    return out
