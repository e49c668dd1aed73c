"""Merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum,
Concatenate, Dot."""

from __future__ import annotations

from .masks import and_masks
from .registry import GraphBuilder, LayerCall, Tensor, lowering

_MERGES = {
    "Add": "add",
    "Subtract": "sub",
    "Multiply": "mul",
    "Average": "mean",
    "Maximum": "max",
    "Minimum": "min",
}


@lowering(*_MERGES)
def lower_merge(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    ins = layer.inputs
    if len(ins) < 2 and layer.semantics != "keras3":
        raise layer.error(f"expected at least 2 inputs, received {len(ins)}")
    if layer.class_name == "Subtract" and len(ins) != 2:
        raise layer.error(f"Subtract takes exactly 2 inputs, received {len(ins)}")
    out = b.op(_MERGES[layer.class_name], layer, ins)
    out.mask = and_masks(b, layer.name, [t.mask for t in ins], layer.semantics)
    return [out]


@lowering("Concatenate")
def lower_concatenate(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    ins = layer.inputs
    rank = len(ins[0].shape)
    axis = layer.config_int("axis", -1)
    if not -rank <= axis < rank or axis in (0, -rank):
        raise layer.error(f"axis {axis} is out of range for inputs of rank {rank}")
    a = axis % rank  # whether the inputs fit together is the core's concat rule
    out = b.op("concat", layer, ins, attrs={"axis": a})
    out.mask = _concat_mask(b, layer, ins, a)
    return [out]


def _concat_mask(b: GraphBuilder, layer: LayerCall, ins: list[Tensor], axis: int) -> Tensor | None:
    """Keras: missing masks count as all true; masks concatenate with the
    inputs, then `all` over the last axis. So a concatenation of features
    ANDs the masks, and one along the steps of (N, T, F) inputs joins them."""
    if all(t.mask is None for t in ins):
        return None
    rank = len(ins[0].shape)
    if axis == rank - 1:
        return and_masks(b, layer.name, [t.mask for t in ins], "keras2")  # `all` over the axis
    if axis == 1 and rank == 3:
        parts = [
            t.mask if t.mask is not None else b.op("ones_mask", f"{layer.name}/ones_{i}", [t])
            for i, t in enumerate(ins)
        ]
        return b.op("concat", layer.name + "/mask", parts, attrs={"axis": 1})
    return None


@lowering("Dot")
def lower_dot(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    if len(layer.inputs) != 2:
        raise layer.error(f"Dot takes exactly 2 inputs, received {len(layer.inputs)}")
    x, y = layer.inputs
    if max(len(x.shape), len(y.shape)) > 3:
        layer.tfjs_refuses("TF.js 4.22's Dot stops at rank 3")
    axes = layer.config.get("axes")
    if isinstance(axes, int):
        axes = [axes, axes]
    if not (isinstance(axes, list) and len(axes) == 2 and all(isinstance(a, int) for a in axes)):
        raise layer.error(f"axes must be an integer or two integers, found {axes!r}")
    ax = axes[0] % len(x.shape)
    ay = axes[1] % len(y.shape)
    if ax == 0 or ay == 0:
        raise layer.unsupported("Dot over the batch axis")
    normalize = layer.config_bool("normalize", False)
    # l2 normalization's epsilon differs by framework (TFJS-FORMAT.md 5.3, Dot):
    # TF.js x / sqrt(max(sum x^2, 1e-7)); Keras 2 x * rsqrt(max(sum x^2, 1e-12));
    # Keras 3 x / max(norm(x), 1e-7).
    # (Without normalize the epsilon is unused: one value for every semantics,
    # so frontend/semantics.py sees no difference.)
    if layer.semantics == "keras3" and normalize:
        eps_attrs = {"norm_eps": 1e-7, "norm_eps_on_norm": 1}
    elif layer.semantics == "keras2" and normalize:
        eps_attrs = {"norm_eps": 1e-12, "norm_eps_on_norm": 0}
    else:
        eps_attrs = {"norm_eps": 1e-7, "norm_eps_on_norm": 0}
    attrs = {"axes": [ax, ay], "normalize": int(normalize), **eps_attrs}
    return [b.op("batch_dot", layer, [x, y], attrs=attrs)]
