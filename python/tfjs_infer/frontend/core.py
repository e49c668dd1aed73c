"""Core layers: Dense, the inference no-ops (Dropout and noise layers),
Flatten, Reshape, Permute, RepeatVector, Embedding, Rescaling."""

from __future__ import annotations

from .activations import activation_attrs
from .masks import embedding_mask
from .registry import GraphBuilder, LayerCall, Tensor, fmt_shape, lowering


@lowering("Dense")
def lower_dense(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    """Keras Dense -> core "dense": x @ kernel + bias over the last axis, activation fused."""
    x = layer.inputs[0]
    units = layer.config_int("units", minimum=1)
    if len(x.shape) < 2 or x.shape[-1] is None:
        raise layer.error(
            f"expected an input with a known last axis, received {fmt_shape(x.shape)}"
        )
    kernel = layer.weight("kernel", shape=(x.shape[-1], units), index=0)
    bias = (
        layer.weight("bias", shape=(units,), index=1)
        if layer.config_bool("use_bias", True)
        else None
    )
    attrs = activation_attrs(layer.config.get("activation"), layer.semantics, layer)
    out = b.op(
        "dense",
        layer,
        [x],
        attrs=attrs,
        weights={"kernel": kernel, "bias": bias},
    )
    out.mask = x.mask
    return [out]


@lowering(
    "Dropout",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "GaussianNoise",
    "GaussianDropout",
    "AlphaDropout",
    "ActivityRegularization",
    "Identity",
    "RandomWidth",
    "RandomHeight",
)
def lower_identity(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    """Layers that are the identity at inference (training=False)."""
    x = layer.inputs[0]
    out = b.op("identity", layer, [x])
    out.mask = x.mask
    return [out]


@lowering("Flatten")
def lower_flatten(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    x = layer.inputs[0]
    if len(x.shape) < 2:
        return [b.op("reshape", layer, [x], attrs={"shape": [1]})]
    if len(x.shape) == 2:
        return [b.op("identity", layer, [x])]
    if any(d is None for d in x.shape[1:]):
        raise layer.error(f"cannot flatten an input with unknown dimensions {fmt_shape(x.shape)}")
    fmt = layer.config_enum("data_format", ["channels_last", "channels_first"], "channels_last")
    if fmt == "channels_first":
        # Keras moves channels last before flattening.
        rank = len(x.shape)
        perm = [0, *range(2, rank), 1]
        x = b.op(
            "transpose",
            layer.name + "/to_channels_last",
            [x],
            attrs={"perm": perm},
        )
    return [b.op("reshape", layer, [x], attrs={"shape": [-1]})]  # the core sizes the -1


@lowering("Reshape")
def lower_reshape(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    x = layer.inputs[0]
    target = layer.config.get("target_shape")
    if isinstance(target, list):  # TF.js saves -1 as null
        target = [-1 if d is None else d for d in target]
    if not isinstance(target, list) or not all(isinstance(d, int) for d in target):
        raise layer.error(f"target_shape must be a list of integers, found {target!r}")
    if any(d is None for d in x.shape[1:]) and -1 in target:
        raise layer.unsupported("reshape with -1 of an input with unknown dimensions")
    # Its -1 and whether the sizes agree are the core's reshape rule.
    return [b.op("reshape", layer, [x], attrs={"shape": list(target)})]


@lowering("Permute")
def lower_permute(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    x = layer.inputs[0]
    dims = layer.config.get("dims")
    if not isinstance(dims, list) or sorted(dims) != list(range(1, len(x.shape))):
        raise layer.error(f"dims {dims!r} is not a permutation of the axes 1..{len(x.shape) - 1}")
    perm = [0, *dims]
    return [
        b.op(
            "transpose",
            layer,
            [x],
            attrs={"perm": perm},
        )
    ]


@lowering("RepeatVector")
def lower_repeat_vector(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    x = layer.inputs[0]  # of rank 2: the core's repeat_vector rule checks it
    n = layer.config_int("n", minimum=1)
    return [b.op("repeat_vector", layer, [x], attrs={"n": n})]


@lowering("Embedding")
def lower_embedding(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    x = layer.inputs[0]
    input_dim = layer.config_int("input_dim", minimum=1)
    output_dim = layer.config_int("output_dim", minimum=1)
    table = layer.weight("embeddings", shape=(input_dim, output_dim), index=0)
    out = b.op("embedding", layer, [x], weights={"embeddings": table})
    if layer.config_bool("mask_zero", False):
        out.mask = embedding_mask(b, layer, x)
    return [out]


@lowering("Rescaling")
def lower_rescaling(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    x = layer.inputs[0]
    scale = layer.config.get("scale", 1.0)
    offset = layer.config.get("offset", 0.0)
    scale = [float(v) for v in (scale if isinstance(scale, list) else [scale])]
    offset = [float(v) for v in (offset if isinstance(offset, list) else [offset])]
    out = b.op("scale_shift", layer, [x], attrs={"scale": scale, "offset": offset})
    out.mask = x.mask
    return [out]
