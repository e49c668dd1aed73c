"""Merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum,
Concatenate, Dot."""

from __future__ import annotations

from .masks import and_masks
from .registry import GraphBuilder, LayerCall, Tensor, fmt_shape, lowering

_MERGES = {
    "Add": "add",
    "Subtract": "sub",
    "Multiply": "mul",
    "Average": "mean",
    "Maximum": "max",
    "Minimum": "min",
}


def _broadcast_shape(layer: LayerCall, inputs: list[Tensor]) -> tuple:
    rank = max(len(t.shape) for t in inputs)
    out: list = [1] * rank
    for t in inputs:
        s = list(t.shape)
        while len(s) < rank:  # Keras: size-1 axes inserted at position 1
            s.insert(1, 1)
        for d in range(rank):
            if s[d] == 1 or s[d] == out[d]:
                continue
            if out[d] in (1, None) or s[d] is None:
                out[d] = s[d] if out[d] in (1,) else out[d]
                continue
            raise layer.error(
                "inputs cannot be broadcast together: "
                + ", ".join(fmt_shape(u.shape) for u in inputs)
            )
    out[0] = None
    return tuple(out)


@lowering(*_MERGES)
def lower_merge(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    ins = layer.inputs
    if len(ins) < 2 and layer.semantics != "keras3":
        raise layer.error(f"expected at least 2 inputs, received {len(ins)}")
    if layer.class_name == "Subtract" and len(ins) != 2:
        raise layer.error(f"Subtract takes exactly 2 inputs, received {len(ins)}")
    shape = _broadcast_shape(layer, ins)
    attrs = {}
    if all(t.shape == shape and None not in t.shape[1:] for t in ins):
        attrs["same_shape"] = 1  # lets the core fuse the add into a GEMM epilogue
    out = b.op(_MERGES[layer.class_name], layer, ins, attrs=attrs, shape=shape)
    out.mask = and_masks(b, layer.name, [t.mask for t in ins], layer.semantics)
    return [out]


@lowering("Concatenate")
def lower_concatenate(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    ins = layer.inputs
    rank = len(ins[0].shape)
    axis = layer.config_int("axis", -1)
    if not -rank <= axis < rank or axis in (0, -rank):
        raise layer.error(f"axis {axis} is out of range for inputs of rank {rank}")
    a = axis % rank
    for t in ins:
        if len(t.shape) != rank or any(
            d != a and t.shape[d] != ins[0].shape[d] and None not in (t.shape[d], ins[0].shape[d])
            for d in range(1, rank)
        ):
            raise layer.error(
                "inputs cannot be concatenated on axis "
                f"{axis}: " + ", ".join(fmt_shape(u.shape) for u in ins)
            )
    total = sum(t.shape[a] for t in ins) if all(t.shape[a] is not None for t in ins) else None
    shape = list(ins[0].shape)
    shape[a] = total
    out = b.op("concat", layer, ins, attrs={"axis": a}, shape=tuple(shape))
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
            t.mask
            if t.mask is not None
            else b.op("ones_mask", f"{layer.name}/ones_{i}", [t], shape=t.shape[:-1])
            for i, t in enumerate(ins)
        ]
        known = all(p.shape[1] is not None for p in parts)
        steps = sum(p.shape[1] for p in parts) if known else None
        shape = (ins[0].shape[0], steps)
        return b.op("concat", layer.name + "/mask", parts, attrs={"axis": 1}, shape=shape)
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
    out = [x.shape[0]]
    out += [d for i, d in enumerate(x.shape) if i not in (0, ax)]
    out += [d for i, d in enumerate(y.shape) if i not in (0, ay)]
    if len(out) == 1:
        out.append(1)
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
    return [b.op("batch_dot", layer, [x, y], attrs=attrs, shape=tuple(out))]
