"""Attention layers (Keras 3 and tf.keras; TF.js has none): MultiHeadAttention,
Attention (Luong) and AdditiveAttention (Bahdanau).

The projections become Dense GEMMs (their EinsumDense kernels reshaped at
load); the core op "attention" computes the masked softmax(q k^T) v per head.
Semantics follow keras/src/layers/attention/*.py at 3.15.1 (TFJS-FORMAT.md 6.3).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .registry import GraphBuilder, LayerCall, Tensor, fmt_shape, lowering


def _flag(value: Any) -> bool:
    return bool(value) if isinstance(value, (bool, int)) else False


def _tensor_arg(layer: LayerCall, position: int, key: str) -> Tensor | None:
    """A call argument given positionally (Keras 3 args) or as a kwarg."""
    if len(layer.inputs) > position:
        return layer.inputs[position]
    value = layer.kwargs.get(key)
    return value if isinstance(value, Tensor) else None


def _flatten_seq(b: GraphBuilder, name: str, t: Tensor, what: str) -> Tensor:
    """(N, S1, ..., Sk, F) -> (N, S1*...*Sk, F) (attention over all middle axes)."""
    if len(t.shape) == 3:
        return t
    mid = t.shape[1:-1]
    if any(d is None for d in mid) or t.shape[-1] is None:
        raise ValueError(f"{what} has unknown dimensions {fmt_shape(t.shape)}")
    length = math.prod(mid)
    return b.op(
        "reshape",
        f"{name}/{what}_flatten",
        [t],
        attrs={"shape": [length, t.shape[-1]]},
    )


def _projection(
    b: GraphBuilder,
    layer: LayerCall,
    x: Tensor,
    paths: list[str],
    scope: str,
    heads: int,
    dim: int,
    use_bias: bool,
) -> Tensor:
    """An EinsumDense (in_dim -> heads x dim) as one Dense: kernel (in, H, D)."""
    sub = layer.sub(paths, scope)
    in_dim = x.shape[-1]
    kernel = sub.weight("kernel", shape=(in_dim, heads, dim), index=0)
    bias = sub.weight("bias", shape=(heads, dim), index=1) if use_bias else None
    return b.op(
        "dense",
        f"{layer.name}/{scope}",
        [x],
        weights={
            "kernel": kernel.reshape(in_dim, heads * dim),
            "bias": None if bias is None else bias.reshape(-1),
        },
    )


@lowering("MultiHeadAttention")
def lower_multi_head_attention(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    query = layer.inputs[0]
    value = _tensor_arg(layer, 1, "value")
    if value is None:
        raise layer.error("called without a value tensor")
    key = _tensor_arg(layer, 2, "key") or value
    heads = layer.config_int("num_heads", minimum=1)
    key_dim = layer.config_int("key_dim", minimum=1)
    value_dim = (
        layer.config_int("value_dim", key_dim, minimum=1) if layer.get("value_dim") else key_dim
    )
    use_bias = layer.config_bool("use_bias", True)
    if _flag(layer.config.get("use_gate")):
        raise layer.unsupported("use_gate=True is not supported")
    window = layer.config.get("sliding_window")
    if window is not None and (not isinstance(window, int) or window < 1):
        raise layer.error(f"sliding_window must be a positive integer, found {window!r}")
    rank = len(query.shape)
    if rank < 3 or len(value.shape) != rank or len(key.shape) != rank:
        raise layer.error(
            "query, value and key must have the same rank >= 3, received "
            f"{fmt_shape(query.shape)}, {fmt_shape(value.shape)}, {fmt_shape(key.shape)}"
        )
    axes = layer.config.get("attention_axes")
    if axes is not None:
        axes = [axes] if isinstance(axes, int) else list(axes)
        if sorted(a % rank for a in axes) != list(range(1, rank - 1)):
            raise layer.unsupported(
                f"attention_axes {axes} (only attention over every axis between the batch and "
                "the features is supported)"
            )
    if window is not None and rank != 3:
        raise layer.unsupported("sliding_window with inputs of rank above 3")
    out_shape = layer.config.get("output_shape")
    if out_shape is None:
        out_dims = [query.shape[-1]]
    else:
        out_dims = [out_shape] if isinstance(out_shape, int) else list(out_shape)
    if any(not isinstance(d, int) or d < 1 for d in out_dims) or query.shape[-1] is None:
        raise layer.error(f"bad output_shape {out_shape!r} or query {fmt_shape(query.shape)}")

    return _heads_attention(
        layer, b, query, value, key, heads, heads, key_dim, value_dim, use_bias, out_dims, window
    )


def _heads_attention(
    layer: LayerCall,
    b: GraphBuilder,
    query: Tensor,
    value: Tensor,
    key: Tensor,
    heads: int,
    kv_heads: int,
    key_dim: int,
    value_dim: int,
    use_bias: bool,
    out_dims: list[int],
    window: int | None,
) -> list[Tensor]:
    """Projections, the attention core and the output projection shared by
    MultiHeadAttention (kv_heads == heads) and GroupedQueryAttention."""
    rank = len(query.shape)
    q = _projection(
        b, layer, query, ["query_dense", "_query_dense"], "query", heads, key_dim, use_bias
    )
    k = _projection(b, layer, key, ["key_dense", "_key_dense"], "key", kv_heads, key_dim, use_bias)
    v = _projection(
        b, layer, value, ["value_dense", "_value_dense"], "value", kv_heads, value_dim, use_bias
    )
    try:
        q, k, v = (
            _flatten_seq(b, layer.name, t, w) for t, w in ((q, "query"), (k, "key"), (v, "value"))
        )
    except ValueError as exc:
        raise layer.error(str(exc)) from None

    inputs = [q, k, v]
    masks: list[str] = []
    attention_mask = layer.kwargs.get("attention_mask")
    if isinstance(attention_mask, Tensor):
        m = attention_mask
        tq, tk = q.shape[1], k.shape[1]
        if len(m.shape) != 3:
            if len(m.shape) != 2 * (rank - 2) + 1 or None in (tq, tk):
                raise layer.error(f"attention_mask of shape {fmt_shape(m.shape)} does not fit")
            m = b.op(
                "reshape",
                f"{layer.name}/mask_flatten",
                [m],
                attrs={"shape": [tq, tk]},
            )
        inputs.append(m)
        masks.append("full")
    elif attention_mask is not None:
        raise layer.unsupported(f"attention_mask {str(attention_mask)[:60]} is not a tensor")
    # Keras masks of the inputs (from Embedding(mask_zero=True), Masking, ...).
    if query.mask is not None and rank == 3:
        inputs.append(query.mask)
        masks.append("query")
    if value.mask is not None and rank == 3:
        inputs.append(value.mask)
        masks.append("key")
    if key is not value and key.mask is not None and rank == 3:
        inputs.append(key.mask)
        masks.append("key")
    return_scores = _flag(layer.kwargs.get("return_attention_scores"))
    causal = _flag(layer.kwargs.get("use_causal_mask"))
    # Keras 3 zeroes fully masked rows on its Softmax-layer path (scores
    # returned, dropout, or attention over more than one axis); its fused
    # dot-product path and Keras 2 give them uniform weights.
    zero_masked = layer.semantics == "keras3" and (
        return_scores or rank != 3 or float(layer.get("dropout", 0.0)) > 0.0
    )
    attrs = {
        "heads": heads,
        "kv_heads": kv_heads,
        "scale": 1.0 / math.sqrt(float(key_dim)),
        "causal": int(causal),
        "window": int(window or 0),
        "zero_masked": int(zero_masked),
        "return_scores": int(return_scores),
        "masks": ",".join(masks),
    }
    outs = b.op_outputs("attention", f"{layer.name}/attention", inputs, attrs=attrs)

    od = layer.sub(["output_dense", "_output_dense"], "attention_output")
    kernel = od.weight("kernel", shape=(heads, value_dim, *out_dims), index=0)
    bias = od.weight("bias", shape=tuple(out_dims), index=1) if use_bias else None
    n_out = math.prod(out_dims)
    y = b.op(
        "dense",
        layer,
        [outs[0]],
        weights={
            "kernel": kernel.reshape(heads * value_dim, n_out),
            "bias": None if bias is None else bias.reshape(-1),
        },
    )
    final = (query.shape[0], *query.shape[1:-1], *out_dims)
    if final != y.shape:
        y = b.op(
            "reshape",
            f"{layer.name}/output_reshape",
            [y],
            attrs={"shape": [-1 if d is None else d for d in final[1:]]},
        )
    y.mask = query.mask
    result = [y]
    if return_scores:
        scores = outs[1]
        full = (query.shape[0], heads, *query.shape[1:-1], *key.shape[1:-1])
        if full != scores.shape:
            scores = b.op(
                "reshape",
                f"{layer.name}/scores_reshape",
                [scores],
                attrs={"shape": list(full[1:])},
            )
        result.append(scores)
    return result


@lowering("GroupQueryAttention", "GroupedQueryAttention")
def lower_grouped_query_attention(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    """Keras 3 GroupedQueryAttention: num_key_value_heads key/value heads,
    each shared by num_query_heads / num_key_value_heads query heads."""
    query = layer.inputs[0]
    value = _tensor_arg(layer, 1, "value")
    if value is None:
        raise layer.error("called without a value tensor")
    key = _tensor_arg(layer, 2, "key") or value
    heads = layer.config_int("num_query_heads", minimum=1)
    kv_heads = layer.config_int("num_key_value_heads", minimum=1)
    head_dim = layer.config_int("head_dim", minimum=1)
    if heads % kv_heads:
        raise layer.error(f"{heads} query heads do not split into {kv_heads} key/value groups")
    if _flag(layer.config.get("use_gate")):
        raise layer.unsupported("use_gate=True is not supported")
    window = layer.config.get("sliding_window")
    if window is not None and (not isinstance(window, int) or window < 1):
        raise layer.error(f"sliding_window must be a positive integer, found {window!r}")
    for t in (query, value, key):
        if len(t.shape) != 3 or t.shape[-1] is None:
            raise layer.error(f"inputs must have rank 3, received {fmt_shape(t.shape)}")
    return _heads_attention(
        layer,
        b,
        query,
        value,
        key,
        heads,
        kv_heads,
        head_dim,
        head_dim,
        layer.config_bool("use_bias", True),
        [query.shape[-1]],
        window,
    )


def _luong_inputs(layer: LayerCall) -> tuple[Tensor, Tensor, Tensor]:
    ins = list(layer.inputs)
    if len(ins) not in (2, 3):
        raise layer.error(
            f"expects [query, value] or [query, value, key], received {len(ins)} inputs"
        )
    query, value = ins[0], ins[1]
    key = ins[2] if len(ins) == 3 else value
    for t in (query, value, key):
        if len(t.shape) != 3:
            raise layer.error(f"inputs must have rank 3, received {fmt_shape(t.shape)}")
    if query.shape[-1] != key.shape[-1] or value.shape[1] != key.shape[1]:
        raise layer.error(
            f"query {fmt_shape(query.shape)}, value {fmt_shape(value.shape)} and key "
            f"{fmt_shape(key.shape)} do not fit together"
        )
    return query, value, key


def _scalar(layer: LayerCall, name: str, index: int) -> float:
    w = layer.weight(name, index=index)
    if w.size != 1:
        raise layer.error(f"weight '{name}' must be a scalar, found shape {w.shape}")
    return float(w.reshape(-1)[0])


def _luong_call(
    layer: LayerCall, b: GraphBuilder, attrs: dict[str, Any], weights: dict[str, np.ndarray]
) -> list[Tensor]:
    query, value, key = _luong_inputs(layer)
    return_scores = _flag(layer.kwargs.get("return_attention_scores"))
    inputs = [query, key, value]
    masks = []
    mask_arg = layer.kwargs.get("mask")
    qmask = query.mask
    vmask = value.mask
    if isinstance(mask_arg, list):  # explicit [query_mask, value_mask]
        qmask = mask_arg[0] if mask_arg and isinstance(mask_arg[0], Tensor) else qmask
        if len(mask_arg) > 1 and isinstance(mask_arg[1], Tensor):
            vmask = mask_arg[1]
    if vmask is not None:
        inputs.append(vmask)
        masks.append("key")
    if qmask is not None:
        inputs.append(qmask)
        masks.append("query_out")
    attrs = {
        **attrs,
        "heads": 1,
        "causal": int(_flag(layer.kwargs.get("use_causal_mask"))),
        "return_scores": int(return_scores),
        "masks": ",".join(masks),
    }
    tq, tk = query.shape[1], key.shape[1]
    outs = b.op_outputs("attention", layer, inputs, attrs=attrs, weights=weights)
    outs[0].mask = query.mask
    if return_scores:
        outs[1] = b.op(
            "reshape",
            f"{layer.name}/scores",
            [outs[1]],
            attrs={"shape": [tq or -1, tk or -1]},
        )
    return outs


@lowering("Attention")
def lower_attention(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    mode = layer.config_enum("score_mode", ["dot", "concat"], "dot")
    use_scale = layer.config_bool("use_scale", False)
    i = 0
    scale = 1.0
    if use_scale:
        scale = _scalar(layer, "scale", 0)
        i = 1
    if mode == "dot":
        return _luong_call(layer, b, {"score": "dot", "scale": scale}, {})
    outer = _scalar(layer, "concat_score_weight", i)
    return _luong_call(layer, b, {"score": "additive", "add_inner": scale, "add_outer": outer}, {})


@lowering("AdditiveAttention")
def lower_additive_attention(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    query = layer.inputs[0]
    weights = {}
    if layer.config_bool("use_scale", True):
        weights["add_scale"] = layer.weight("scale", shape=(query.shape[-1],), index=0)
    return _luong_call(layer, b, {"score": "additive"}, weights)
