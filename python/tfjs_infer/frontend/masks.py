"""Keras masks: the Masking layer and the helpers that give each layer the
mask it receives and compute the masks of Embedding(mask_zero), merges and
masked pooling (TFJS-FORMAT.md 5.3, 5.5). Masks are float 0/1 tensors here.

Keras 3 files record how each mask is computed as keras.ops nodes on boolean
tensors (lowered in keras_ops.py) and pass the result to the layers that
consume it as their `mask`.
"""

from __future__ import annotations

from .registry import GraphBuilder, LayerCall, Tensor, lowering


def layer_mask(layer: LayerCall) -> Tensor | None:
    """The Keras mask a layer call receives: an explicit `mask` kwarg, else
    the first input's mask. Keras 3 files record every mask a layer received
    as its `mask` kwarg (computed by keras.ops nodes), so there a layer
    without one got none (Keras 3 drops the mask of an RNN called with
    initial_state, for instance). A Keras 3 Sequential records no mask nodes:
    there each layer gets its input's mask (LayerCall.implicit_mask)."""
    m = layer.kwargs.get("mask")
    if isinstance(m, Tensor):
        return m
    if layer.semantics == "keras3" and not layer.implicit_mask:
        return None
    return layer.inputs[0].mask


@lowering("Masking")
def lower_masking(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    """Masking: steps whose features all equal mask_value are zeroed and masked."""
    x = layer.inputs[0]  # of rank 2 or more: the core's masking rule checks it
    attrs = {
        "mask_value": layer.config_float("mask_value", 0.0),
        "select": int(layer.semantics == "keras3"),
    }
    y, m = b.op_outputs("masking", layer, [x], attrs=attrs)
    y.mask = m
    return [y]


def embedding_mask(b: GraphBuilder, layer: LayerCall, ids: Tensor) -> Tensor:
    """The mask of Embedding(mask_zero=True): ids != 0 (on the raw ids)."""
    return b.op("not_equal_mask", layer.name + "/mask", [ids], attrs={"value": 0.0})


def and_masks(
    b: GraphBuilder, name: str, masks: list[Tensor | None], semantics: str = "keras2"
) -> Tensor | None:
    """The mask of an element-wise merge. Keras 2 (and TF.js, as far as it
    works) ANDs the masks present; Keras 3 ORs them, and gives none when one
    input has none."""
    present = [m for m in masks if m is not None]
    if not present:
        return None
    if semantics == "keras3" and len(present) != len(masks):
        return None
    if len(present) == 1:
        return present[0]
    if any(m.shape != present[0].shape for m in present):
        return None
    op = "max" if semantics == "keras3" else "mul"
    return b.op(op, name + "/mask", present)


def masked_global_average_1d(
    b: GraphBuilder, layer: LayerCall | str, x: Tensor, mask: Tensor, keepdims: bool = False
) -> Tensor:
    """Keras GlobalAveragePooling1D with a mask: sum(x * mask) / sum(mask) over steps.

    For the pooling lowering to call when the input carries a mask and the
    file has Keras semantics (TF.js ignores the mask).
    """
    return b.op("masked_mean", layer, [x, mask], attrs={"keepdims": int(keepdims)})
