"""keras.ops calls recorded in Keras 3 Functional graphs (``x + y``,
``x * 0.5``...), registered as ``keras.ops.<Class>``.

Tensor operands of the same rank combine element-wise with broadcasting;
a constant operand (a number, or a vector over the last axis) becomes a
per-channel scale/offset.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .merge import _broadcast_shape
from .registry import OPS_PREFIX, GraphBuilder, LayerCall, Tensor, lowering

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
    return b.op("scale_shift", layer, [x], attrs=attrs, shape=x.shape)


@lowering(
    *(
        OPS_PREFIX + c
        for c in ("Add", "Subtract", "Multiply", "Divide", "TrueDivide", "Maximum", "Minimum")
    )
)
def lower_binary_op(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    op = (
        layer.class_name[len(OPS_PREFIX) :]
        if layer.class_name.startswith(OPS_PREFIX)
        else layer.class_name
    )
    ops = _operands(layer)
    if len(ops) != 2:
        raise layer.error(f"expects 2 operands, received {len(ops)}")
    a, c = ops
    if isinstance(a, Tensor) and isinstance(c, Tensor):
        if op not in _MERGE:
            raise layer.unsupported(f"{op} of two tensors is not supported")
        if len(a.shape) != len(c.shape):
            raise layer.unsupported("operands of different ranks")
        return [b.op(_MERGE[op], layer, [a, c], shape=_broadcast_shape(layer, [a, c]))]
    if not isinstance(a, Tensor) and not isinstance(c, Tensor):
        raise layer.unsupported("an operation on constants only")
    x = a if isinstance(a, Tensor) else c
    k = _const_vector(layer, c if x is a else a, x)
    one, zero = np.ones(1), np.zeros(1)
    if op == "Add":
        return [_scale_shift(b, layer, x, one, k)]
    if op == "Multiply":
        return [_scale_shift(b, layer, x, k, zero)]
    if op == "Subtract":
        return [
            _scale_shift(b, layer, x, one, -k) if x is a else _scale_shift(b, layer, x, -one, k)
        ]
    if op in ("Divide", "TrueDivide") and x is a:
        return [_scale_shift(b, layer, x, 1.0 / k, zero)]
    raise layer.unsupported(f"{op} with a constant operand in this position")
