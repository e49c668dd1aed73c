"""EinsumDense (Keras 3, and tf.keras's experimental EinsumDense).

``y = act(einsum(equation, x, kernel) + bias)`` lowered to core ops: the
kernel is rearranged at load into a (contracted, free) matrix, so the einsum
becomes an optional transpose of x, a Dense GEMM (bias and activation fused)
and an optional reshape/transpose of the result. Supported: every equation
whose letters are each batch/free-in-x, contracted, or free-in-kernel (letters
only in the kernel are summed away at load), with an optional leading
ellipsis — this covers MultiHeadAttention's projections and the usual FFN
forms (``abc,cd->abd``, ``abc,cde->abde``, ``abcd,cde->abe``).
"""

from __future__ import annotations

import math
import re
import string
from typing import Any

import numpy as np

from .activations import activation_attrs
from .registry import GraphBuilder, LayerCall, Tensor, fmt_shape, lowering


def _expand_ellipsis(layer: LayerCall, equation: str, rank: int) -> tuple[str, str, str]:
    m = re.fullmatch(r"\s*([a-zA-Z.]+)\s*,\s*([a-zA-Z]+)\s*->\s*([a-zA-Z.]+)\s*", equation)
    if not m:
        raise layer.unsupported(f"einsum equation '{equation}' is not of the form 'x,w->y'")
    xs, ws, ys = m.groups()
    if "..." in xs or "..." in ys:
        if not (xs.startswith("...") and ys.startswith("...")) or "." in xs[3:] + ys[3:]:
            raise layer.unsupported(
                f"einsum equation '{equation}': only a leading '...' is supported"
            )
        xs, ys = xs[3:], ys[3:]
        used = set(xs + ws + ys)
        free = [c for c in string.ascii_letters if c not in used]
        n = rank - len(xs)
        if n < 1:
            raise layer.error(f"einsum equation '{equation}' does not fit an input of rank {rank}")
        fill = "".join(free[:n])
        xs, ys = fill + xs, fill + ys
    if "." in xs + ys:
        raise layer.unsupported(f"einsum equation '{equation}' is not supported")
    return xs, ws, ys


def einsum_dense(
    b: GraphBuilder,
    layer: LayerCall,
    x: Tensor,
    equation: str,
    kernel: np.ndarray,
    bias: np.ndarray | None,
    bias_axes: str | None,
    act: dict[str, Any],
    name: str | None = None,
) -> Tensor:
    """Lower one einsum projection of `x` by the constant `kernel`."""
    op_name = name or layer.name
    xs, ws, ys = _expand_ellipsis(layer, equation, len(x.shape))
    if len(xs) != len(x.shape) or len(ws) != kernel.ndim:
        raise layer.error(
            f"einsum equation '{equation}' does not fit input {fmt_shape(x.shape)} and kernel "
            f"{kernel.shape}"
        )
    for term in (xs, ws, ys):
        if len(set(term)) != len(term):
            raise layer.unsupported(f"einsum equation '{equation}' repeats a letter in one term")
    batch = xs[0]
    if batch in ws or not ys or ys[0] != batch:
        raise layer.unsupported(
            f"einsum equation '{equation}': the first input axis must stay the first output axis"
        )
    contracted = [c for c in xs if c in ws and c not in ys]
    xfree = [c for c in xs if c in ys and c not in ws]
    wfree = [c for c in ws if c in ys and c not in xs]
    wsum = [c for c in ws if c not in xs and c not in ys]
    bad = [c for c in xs if c not in ws and c not in ys] + [c for c in xs if c in ws and c in ys]
    if bad or any(c not in xs and c not in ws for c in ys):
        raise layer.unsupported(f"einsum equation '{equation}' is not a supported projection")
    dims = dict(zip(xs, x.shape))
    for c, d in zip(ws, kernel.shape):
        if c in dims and dims[c] is not None and dims[c] != d:
            raise layer.error(
                f"kernel {kernel.shape} does not fit input {fmt_shape(x.shape)} for '{equation}'"
            )
        dims.setdefault(c, d)
    if any(dims[c] is None for c in contracted):
        raise layer.error(f"contracted axes of input {fmt_shape(x.shape)} have unknown sizes")

    # Kernel -> (K, N): contracted letters in x's order, then the free ones.
    w = kernel.astype(np.float32)
    if wsum:
        w = w.sum(axis=tuple(ws.index(c) for c in wsum))
        ws = "".join(c for c in ws if c not in wsum)
    w = np.transpose(w, [ws.index(c) for c in contracted + wfree])
    k_size = math.prod(dims[c] for c in contracted)
    n_size = math.prod(dims[c] for c in wfree)
    w = np.ascontiguousarray(w.reshape(k_size, n_size))

    dense_bias = None
    if bias is not None:
        dense_bias = _expand_bias(layer, bias, bias_axes or "", ys, wfree, dims)

    # x -> (batch, xfree..., K)
    perm = [xs.index(c) for c in xfree + contracted]
    h = x
    if perm != list(range(len(xs))):
        h = b.op(
            "transpose",
            f"{op_name}/in_transpose",
            [h],
            attrs={"perm": perm},
        )
    rest = [dims[c] for c in xfree[1:]]
    if len(contracted) != 1:
        target = [-1 if d is None else d for d in rest] + [k_size]
        if target.count(-1) > 1:
            raise layer.unsupported("einsum over an input with several unknown dimensions")
        h = b.op(
            "reshape",
            f"{op_name}/in_reshape",
            [h],
            attrs={"shape": target},
        )
    out_order = xfree + wfree
    final_perm = [out_order.index(c) for c in ys]
    row_act = act.get("activation") in ("softmax", "log_softmax")
    fuse_act = not row_act or (len(wfree) == 1 and final_perm == list(range(len(ys))))
    h = b.op(
        "dense",
        op_name,
        [h],
        attrs=act if fuse_act else {"activation": "linear"},
        weights={"kernel": w, "bias": dense_bias},
    )
    if len(wfree) != 1:
        target = [-1 if d is None else d for d in rest] + [dims[c] for c in wfree]
        h = b.op(
            "reshape",
            f"{op_name}/out_reshape",
            [h],
            attrs={"shape": target},
        )
    if final_perm != list(range(len(ys))):
        h = b.op(
            "transpose",
            f"{op_name}/out_transpose",
            [h],
            attrs={"perm": final_perm},
        )
    if not fuse_act:
        h = b.op("activation", f"{op_name}/activation", [h], attrs=act)
    return h


def _expand_bias(
    layer: LayerCall,
    bias: np.ndarray,
    bias_axes: str,
    ys: str,
    wfree: list[str],
    dims: dict[str, Any],
) -> np.ndarray:
    """Keras's bias covers the output axes from the first bias letter to the
    end (size 1 on the others); spread it over the kernel's free letters."""
    if not bias_axes:
        raise layer.error("the layer has a bias but no bias_axes")
    first = min(ys.index(c) for c in bias_axes if c in ys)
    spec = ys[first:]
    if any(c not in wfree for c in spec if c in bias_axes):
        raise layer.unsupported(f"bias over input axes ('{bias_axes}' in '{ys}') is not supported")
    want = tuple(dims[c] if c in bias_axes else 1 for c in spec)
    if bias.size != math.prod(want):
        raise layer.error(f"bias of shape {bias.shape} does not fit bias_axes '{bias_axes}' {want}")
    arr = bias.astype(np.float32).reshape(want)
    # Letters of the span that are not the kernel's are not bias letters (size 1).
    keep = [i for i, c in enumerate(spec) if c in wfree]
    arr = arr.reshape([want[i] for i in keep])
    kept = [spec[i] for i in keep]
    order = sorted(range(len(kept)), key=lambda i: wfree.index(kept[i]))
    arr = np.transpose(arr, order)
    arr = arr.reshape([arr.shape[order.index(kept.index(c))] if c in kept else 1 for c in wfree])
    return np.ascontiguousarray(np.broadcast_to(arr, [dims[c] for c in wfree])).reshape(-1)


@lowering("EinsumDense")
def lower_einsum_dense(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    x = layer.inputs[0]
    equation = layer.config.get("equation")
    if not isinstance(equation, str):
        raise layer.error(f"config 'equation' must be a string, found {equation!r}")
    if layer.config.get("lora_rank"):
        raise layer.unsupported("LoRA-adapted EinsumDense is not supported")
    kernel = layer.weight("kernel", index=0)
    bias_axes = layer.config.get("bias_axes")
    bias = layer.weight("bias", index=1) if bias_axes else None
    act = activation_attrs(layer.config.get("activation"), layer.semantics, layer)
    out = einsum_dense(b, layer, x, equation, kernel, bias, bias_axes, act)
    out.mask = x.mask
    return [out]
