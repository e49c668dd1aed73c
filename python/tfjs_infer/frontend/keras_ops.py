"""keras.ops calls recorded in Keras 3 Functional graphs (``x + y``,
``x * 0.5``...), registered as ``keras.ops.<Class>``, and tf.keras's
TFOpLambda layers (TensorFlow functions called on symbolic tensors).

Tensor operands of the same rank combine element-wise with broadcasting;
a constant operand (a number, or a vector over the last axis) becomes a
per-channel scale/offset. Keras 3 files also record how each mask is
computed as keras.ops on boolean tensors (not_equal, logical_and, any...):
those lower here too, on float 0/1 masks.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .activations import activation_attrs
from .registry import OPS_PREFIX, GraphBuilder, LayerCall, Tensor, fmt_shape, lowering

_MERGE = {"Add": "add", "Subtract": "sub", "Multiply": "mul", "Maximum": "max", "Minimum": "min"}


def _operands(layer: LayerCall) -> list[Any]:
    """The positional operands in call order: Tensors and constants."""
    consts = dict(layer.kwargs.get("__constants__") or [])
    out: list[Any] = []
    tensors = iter(layer.inputs)
    for pos in range(len(layer.inputs) + len(consts)):
        out.append(consts[pos] if pos in consts else next(tensors))
    return out


def _const_vector(layer: LayerCall, value: Any, x: Tensor) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.size == 1:
        return arr.reshape(1)
    if arr.ndim >= 1 and arr.shape[-1] == x.shape[-1] and arr.size == arr.shape[-1]:
        return arr.reshape(-1)
    raise layer.unsupported(
        f"a constant operand of shape {arr.shape} (only scalars or vectors over the last axis)"
    )


def _scale_shift(
    b: GraphBuilder, layer: LayerCall, x: Tensor, scale: np.ndarray, offset: np.ndarray
) -> Tensor:
    n = max(scale.size, offset.size)
    scale = np.broadcast_to(scale, (n,))
    offset = np.broadcast_to(offset, (n,))
    attrs = {"scale": [float(v) for v in scale], "offset": [float(v) for v in offset]}
    return b.op("scale_shift", layer, [x], attrs=attrs)


@lowering(
    *(
        OPS_PREFIX + c
        for c in ("Add", "Subtract", "Multiply", "Divide", "TrueDivide", "Maximum", "Minimum")
    )
)
def lower_binary_op(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    op = layer.class_name.removeprefix(OPS_PREFIX)
    ops = _operands(layer)
    if len(ops) != 2:
        raise layer.error(f"expects 2 operands, received {len(ops)}")
    return [binary(b, layer, op, ops[0], ops[1])]


def binary(b: GraphBuilder, layer: LayerCall, op: str, a: Any, c: Any) -> Tensor:
    """a <op> c where either operand is a Tensor or a constant."""
    if op == "TrueDivide":
        op = "Divide"
    if isinstance(a, Tensor) and isinstance(c, Tensor):
        if op not in _MERGE:
            raise layer.unsupported(f"{op} of two tensors is not supported")
        if len(a.shape) != len(c.shape):
            raise layer.unsupported("operands of different ranks")
        return b.op(_MERGE[op], layer, [a, c])
    if not isinstance(a, Tensor) and not isinstance(c, Tensor):
        raise layer.unsupported("an operation on constants only")
    x = a if isinstance(a, Tensor) else c
    k = _const_vector(layer, c if x is a else a, x)
    one, zero = np.ones(1), np.zeros(1)
    if op == "Add":
        return _scale_shift(b, layer, x, one, k)
    if op == "Multiply":
        return _scale_shift(b, layer, x, k, zero)
    if op == "Subtract":
        return _scale_shift(b, layer, x, one, -k) if x is a else _scale_shift(b, layer, x, -one, k)
    if op == "Divide" and x is a:
        return _scale_shift(b, layer, x, 1.0 / k, zero)
    raise layer.unsupported(f"{op} with a constant operand in this position")


# tf.keras (Keras 2) records TensorFlow calls on symbolic tensors as TFOpLambda
# layers naming the function; these are the element-wise ones supported.
_TF_BINARY = {
    "__operators__.add": "Add",
    "math.add": "Add",
    "math.subtract": "Subtract",
    "math.multiply": "Multiply",
    "math.truediv": "Divide",
    "math.divide": "Divide",
    "math.maximum": "Maximum",
    "math.minimum": "Minimum",
}
_TF_UNARY = {
    "nn.relu": "relu",
    "math.sigmoid": "sigmoid",
    "nn.sigmoid": "sigmoid",
    "math.tanh": "tanh",
    "nn.tanh": "tanh",
    "math.exp": "exponential",
    "nn.relu6": "relu6",
    "nn.silu": "swish",
    "nn.swish": "swish",
    "math.softplus": "softplus",
    "nn.softplus": "softplus",
    "nn.elu": "elu",
    "nn.selu": "selu",
    "math.softsign": "softsign",
    "nn.softsign": "softsign",
}
_TF_OTHER = ("nn.gelu", "nn.leaky_relu", "nn.softmax")


@lowering("TFOpLambda")
def lower_tf_op_lambda(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    fn = layer.config.get("function")
    ops = _operands(layer)
    if fn in _TF_BINARY:
        x = ops[0] if ops else layer.kwargs.get("x")
        y = ops[1] if len(ops) > 1 else layer.kwargs.get("y")
        if x is None or y is None:
            raise layer.error(f"tf.{fn} needs two operands")
        return [binary(b, layer, _TF_BINARY[fn], x, y)]
    if fn not in _TF_UNARY and fn not in _TF_OTHER:
        supported = sorted([*_TF_BINARY, *_TF_UNARY, *_TF_OTHER])
        raise layer.unsupported(
            f"TensorFlow function tf.{fn} (supported: "
            + ", ".join(f"tf.{f}" for f in supported)
            + ")"
        )
    x = ops[0] if ops else layer.kwargs.get("features", layer.kwargs.get("x"))
    if not isinstance(x, Tensor):
        raise layer.unsupported(f"tf.{fn} of a constant")
    if fn == "nn.softmax":
        axis = layer.kwargs.get("axis", -1)
        if not isinstance(axis, int):
            raise layer.unsupported(f"tf.nn.softmax over axis {axis!r}")
        return [b.op("softmax", layer, [x], attrs={"axis": axis})]
    if fn == "nn.gelu":
        approx = bool(layer.kwargs.get("approximate", False))
        attrs: dict[str, Any] = {"activation": "gelu_tanh" if approx else "gelu"}
    elif fn == "nn.leaky_relu":
        attrs = {"activation": "leaky_relu", "act_alpha": float(layer.kwargs.get("alpha", 0.2))}
    else:
        attrs = activation_attrs(_TF_UNARY[fn], "keras2", layer)
    return [b.op("activation", layer, [x], attrs=attrs)]


# -- keras.ops on masks ---------------------------------------------------------


@lowering(OPS_PREFIX + "NotEqual")
def lower_not_equal(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    """keras.ops.not_equal(x, c): Keras 3 files record the Embedding(mask_zero)
    mask as this op (ids != 0) and pass it to later layers as their `mask`."""
    ops = _operands(layer)
    tensors = [o for o in ops if isinstance(o, Tensor)]
    consts = [o for o in ops if not isinstance(o, Tensor)]
    if len(ops) != 2 or len(tensors) != 1 or np.asarray(consts[0]).size != 1:
        raise layer.unsupported("not_equal other than between a tensor and a scalar")
    x = tensors[0]
    value = float(np.asarray(consts[0]).reshape(()))
    return [b.op("not_equal_mask", layer, [x], attrs={"value": value})]


# Keras 3 files record how each mask is computed (merges, Concatenate, Masking)
# as keras.ops nodes on boolean tensors, and pass the result to the layers
# that consume it as their `mask`. Masks are float 0/1 tensors here.


def _tensor_operands(layer: LayerCall, count: int) -> list[Tensor]:
    ops = _operands(layer)
    if len(ops) != count or not all(isinstance(o, Tensor) for o in ops):
        raise layer.unsupported(f"expects {count} tensor operand(s) (a mask computation)")
    return ops


def _axis(layer: LayerCall, rank: int, key: str = "axis") -> int:
    axis = layer.config.get(key)
    if isinstance(axis, list) and len(axis) == 1:
        axis = axis[0]
    if not isinstance(axis, int) or not -rank <= axis < rank or axis % rank == 0:
        raise layer.unsupported(f"{key}={axis!r} on a tensor of rank {rank}")
    return axis % rank


@lowering(OPS_PREFIX + "ExpandDims")
def lower_expand_dims(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    (x,) = _tensor_operands(layer, 1)
    axis = _axis(layer, len(x.shape) + 1)
    shape = (*x.shape[:axis], 1, *x.shape[axis:])
    target = [-1 if d is None else d for d in shape[1:]]
    if target.count(-1) > 1:
        raise layer.unsupported(f"expand_dims of {fmt_shape(x.shape)} (several unknown sizes)")
    return [b.op("reshape", layer, [x], attrs={"shape": target})]


@lowering(OPS_PREFIX + "ZerosLike", OPS_PREFIX + "OnesLike")
def lower_fill_like(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    (x,) = _tensor_operands(layer, 1)
    value = 1.0 if layer.class_name.endswith("OnesLike") else 0.0
    return [b.op("fill_like", layer, [x], attrs={"value": value})]


@lowering(OPS_PREFIX + "LogicalOr", OPS_PREFIX + "LogicalAnd")
def lower_logical(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    a, c = _tensor_operands(layer, 2)
    if len(a.shape) != len(c.shape):
        raise layer.unsupported("operands of different ranks")
    op = "max" if layer.class_name.endswith("Or") else "min"  # on 0/1 values
    return [b.op(op, layer, [a, c])]


@lowering(OPS_PREFIX + "LogicalNot")
def lower_logical_not(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    (x,) = _tensor_operands(layer, 1)
    attrs = {"scale": [-1.0], "offset": [1.0]}
    return [b.op("scale_shift", layer, [x], attrs=attrs)]


@lowering(OPS_PREFIX + "Any", OPS_PREFIX + "All")
def lower_reduce_mask(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    (x,) = _tensor_operands(layer, 1)
    axis = _axis(layer, len(x.shape))
    keepdims = layer.config_bool("keepdims", False)
    attrs = {"axis": axis, "keepdims": int(keepdims), "all": int(layer.class_name.endswith("All"))}
    return [b.op("reduce_mask", layer, [x], attrs=attrs)]


@lowering(OPS_PREFIX + "Concatenate")
def lower_ops_concatenate(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    ins = layer.inputs
    if not ins or not all(len(t.shape) == len(ins[0].shape) for t in ins):
        raise layer.unsupported("concatenate of tensors of different ranks")
    axis = _axis(layer, len(ins[0].shape))
    return [b.op("concat", layer, ins, attrs={"axis": axis})]
