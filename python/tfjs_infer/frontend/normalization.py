"""BatchNormalization and LayerNormalization."""

from __future__ import annotations

from .registry import GraphBuilder, LayerCall, Tensor, lowering


def _axes(layer: LayerCall, rank: int, default: int) -> list[int]:
    axis = layer.config.get("axis", default)
    axes = axis if isinstance(axis, list) else [axis]
    if not axes or not all(isinstance(a, int) and -rank <= a < rank for a in axes):
        raise layer.error(f"axis {axis!r} is out of range for input rank {rank}")
    return sorted(a % rank for a in axes)


@lowering("BatchNormalization")
def lower_batch_norm(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    x = layer.inputs[0]
    rank = len(x.shape)
    if rank > 4:
        layer.tfjs_refuses(f"TF.js 4.22's batch normalization stops at rank 4 (rank {rank})")
    axes = _axes(layer, rank, -1)
    if len(axes) != 1 or axes[0] == 0:
        raise layer.unsupported(f"batch normalization over axes {axes}")
    axis = axes[0]
    channels = x.shape[axis]
    if channels is None:
        raise layer.error("the normalized axis has an unknown size")
    scale = layer.config_bool("scale", True)
    center = layer.config_bool("center", True)
    i = 0
    gamma = beta = None
    if scale:
        gamma = layer.weight("gamma", shape=(channels,), index=i)
        i += 1
    if center:
        beta = layer.weight("beta", shape=(channels,), index=i)
        i += 1
    mean = layer.weight("moving_mean", shape=(channels,), index=i)
    var = layer.weight("moving_variance", shape=(channels,), index=i + 1)
    attrs = {
        "axis": -1 if axis == rank - 1 else axis,
        "epsilon": layer.config_float("epsilon", 1e-3),
    }
    weights = {"gamma": gamma, "beta": beta, "moving_mean": mean, "moving_variance": var}
    out = b.op("batch_norm", layer, [x], attrs=attrs, weights=weights)
    out.mask = x.mask
    return [out]


@lowering("LayerNormalization")
def lower_layer_norm(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    x = layer.inputs[0]
    rank = len(x.shape)
    axes = _axes(layer, rank, -1)
    if 0 in axes or axes != list(range(axes[0], axes[-1] + 1)):
        raise layer.unsupported(f"layer normalization over non-contiguous axes {axes}")
    param_shape = tuple(x.shape[a] for a in axes)
    if any(d is None for d in param_shape):
        raise layer.error("the normalized axes have unknown sizes")
    rms = layer.semantics == "keras3" and layer.config_bool("rms_scaling", False)
    scale = layer.config_bool("scale", True)
    center = layer.config_bool("center", True) and not rms
    flat = (int(__import__("math").prod(param_shape)),)
    gamma = layer.weight("gamma", shape=param_shape, index=0).reshape(flat) if scale else None
    beta = (
        layer.weight("beta", shape=param_shape, index=1 if scale else 0).reshape(flat)
        if center
        else None
    )
    attrs = {"axes": axes, "epsilon": layer.config_float("epsilon", 1e-3), "rms_scaling": int(rms)}
    out = b.op("layer_norm", layer, [x], attrs=attrs, weights={"gamma": gamma, "beta": beta})
    out.mask = x.mask
    return [out]
