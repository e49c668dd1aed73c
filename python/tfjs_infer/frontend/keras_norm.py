"""Keras 3 normalization layers TF.js lacks: GroupNormalization,
UnitNormalization, RMSNormalization, and the Normalization preprocessing
layer (keras/src/layers/normalization/*.py and preprocessing/normalization.py
at 3.15.1; TFJS-FORMAT.md 6.3)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .registry import GraphBuilder, LayerCall, Tensor, fmt_shape, lowering


def _axes(layer: LayerCall, rank: int, default: Any = -1) -> list[int]:
    axis = layer.config.get("axis", default)
    axes = axis if isinstance(axis, list) else [axis]
    if not axes or not all(
        isinstance(a, int) and not isinstance(a, bool) and -rank <= a < rank for a in axes
    ):
        raise layer.error(f"axis {axis!r} is out of range for input rank {rank}")
    out = sorted({a % rank for a in axes})
    if 0 in out:
        raise layer.unsupported("normalization over the batch axis")
    if out != list(range(out[0], out[-1] + 1)):
        raise layer.unsupported(f"normalization over non-contiguous axes {out}")
    return out


@lowering("GroupNormalization")
def lower_group_norm(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    x = layer.inputs[0]
    rank = len(x.shape)
    axis = layer.config_int("axis", -1)
    if not -rank <= axis < rank or axis % rank == 0:
        raise layer.error(f"axis {axis} is out of range for input {fmt_shape(x.shape)}")
    channels = x.shape[axis]
    groups = layer.config_int("groups", 32, minimum=1)
    if channels is None or channels % groups:
        raise layer.error(f"{channels} channels do not split into {groups} groups")
    i = 0
    gamma = beta = None
    if layer.config_bool("scale", True):
        gamma = layer.weight("gamma", shape=(channels,), index=i)
        i += 1
    if layer.config_bool("center", True):
        beta = layer.weight("beta", shape=(channels,), index=i)
    attrs = {"axis": axis % rank, "groups": groups, "epsilon": layer.config_float("epsilon", 1e-3)}
    out = b.op("group_norm", layer, [x], attrs=attrs, weights={"gamma": gamma, "beta": beta})
    out.mask = x.mask
    return [out]


@lowering("UnitNormalization")
def lower_unit_norm(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    x = layer.inputs[0]
    axes = _axes(layer, len(x.shape))
    out = b.op("unit_norm", layer, [x], attrs={"axes": axes})
    out.mask = x.mask
    return [out]


@lowering("RMSNormalization")
def lower_rms_norm(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    x = layer.inputs[0]
    axes = _axes(layer, len(x.shape))
    param = tuple(x.shape[a] for a in axes)
    if any(d is None for d in param):
        raise layer.error("the normalized axes have unknown sizes")
    scale = layer.weight("scale", shape=param, index=0).reshape(-1)
    # Keras 3's default epsilon is 1e-6 here (not backend.epsilon()).
    attrs = {"axes": axes, "epsilon": layer.config_float("epsilon", 1e-6)}
    out = b.op("rms_norm", layer, [x], attrs=attrs, weights={"scale": scale})
    out.mask = x.mask
    return [out]


@lowering("Normalization")
def lower_normalization(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    """y = (x - mean) / max(sqrt(var), 1e-7), or mean + x * max(...) with invert."""
    x = layer.inputs[0]
    rank = len(x.shape)
    axis = layer.config.get("axis", -1)
    axes = [] if axis is None else (axis if isinstance(axis, list) else [axis])
    if not all(isinstance(a, int) and -rank <= a < rank for a in axes):
        raise layer.error(f"axis {axis!r} is out of range for input rank {rank}")
    axes = sorted({a % rank for a in axes})
    if axes not in ([], [rank - 1]):
        raise layer.unsupported(f"Normalization over axes {axes} (only the last axis or none)")
    channels = x.shape[-1] if axes else 1
    if channels is None:
        raise layer.error("the last axis has an unknown size")
    if layer.config.get("mean") is not None:
        mean = np.asarray(layer.config.get("mean"), dtype=np.float64)
        var = np.asarray(layer.config.get("variance"), dtype=np.float64)
    else:
        mean = layer.weight("mean", index=0).astype(np.float64)
        var = layer.weight("variance", index=1).astype(np.float64)
        if layer.has_weight("count", index=2):
            layer.weight("count", index=2)  # adapt() bookkeeping; unused at inference
    try:
        mean = np.broadcast_to(mean.reshape(-1) if mean.size > 1 else mean.reshape(1), (channels,))
        var = np.broadcast_to(var.reshape(-1) if var.size > 1 else var.reshape(1), (channels,))
    except ValueError:
        raise layer.error(
            f"mean {mean.shape} / variance {var.shape} do not fit {channels} channels"
        ) from None
    std = np.maximum(np.sqrt(var), 1e-7)
    if layer.config_bool("invert", False):
        scale, offset = std, mean
    else:
        scale, offset = 1.0 / std, -mean / std
    attrs = {"scale": [float(v) for v in scale], "offset": [float(v) for v in offset]}
    out = b.op("scale_shift", layer, [x], attrs=attrs)
    out.mask = x.mask
    return [out]
