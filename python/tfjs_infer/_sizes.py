"""Refusal of absurd declared sizes before anything is allocated for them.

A model file declares its tensor shapes: an input dimension of 2147483647,
a ``batch_shape`` of 10⁶×10⁶ or a CategoryEncoding's ``num_tokens`` of
2³¹−1 pass the readers and the lowering (no memory is needed to describe
them) and would end in a MemoryError or ``std::bad_alloc`` at the load-time
warm-up. Here every input and every layer output is measured at batch 1
(the smallest call) and one over ``TFJS_INFER_MAX_TENSOR_BYTES`` (default
2 GiB per row) is refused with an InvalidModelError naming the input or the
layer, the config fields holding the offending dimensions, and the memory
one row would take.
"""

from __future__ import annotations

import math
import os
from typing import Any

from .errors import InvalidModelError

DEFAULT_MAX_TENSOR_BYTES = 2 << 30
_ENV = "TFJS_INFER_MAX_TENSOR_BYTES"


def max_tensor_bytes() -> int:
    """The per-row limit: TFJS_INFER_MAX_TENSOR_BYTES, or 2 GiB."""
    text = os.environ.get(_ENV, "")
    return int(text) if text.isdigit() and int(text) > 0 else DEFAULT_MAX_TENSOR_BYTES


def _row_bytes(shape: Any) -> int:
    dims = [d for d in list(shape)[1:] if d is not None]
    return 4 * math.prod(int(d) for d in dims)  # float32 and int32 both take 4 bytes


def _gib(n: int) -> str:
    return f"{n / (1 << 30):,.1f} GiB" if n >= 1 << 30 else f"{n / (1 << 20):,.1f} MiB"


def _fields_with(config: Any, dims: set[int]) -> list[str]:
    """Config keys whose value (or a list item) is one of `dims`: where a size came from."""
    found = []
    stack = [("", config)]
    while stack:
        prefix, node = stack.pop()
        if isinstance(node, dict):
            stack.extend((f"{prefix}{k}.", v) for k, v in node.items())
        elif isinstance(node, list):
            if any(isinstance(v, int) and v in dims for v in node):
                found.append(f"{prefix[:-1]} {node}")
            else:
                stack.extend((prefix, v) for v in node)
        elif isinstance(node, int) and not isinstance(node, bool) and node in dims:
            found.append(f"{prefix[:-1]} = {node}")
    return sorted(found)


def _layer_configs(topology: Any) -> dict[str, Any]:
    """Layer name -> config, for every layer of the model (nested models included)."""
    configs: dict[str, Any] = {}
    stack = [topology]
    while stack:
        entry = stack.pop()
        if not isinstance(entry, dict):
            continue
        config = entry.get("config")
        if isinstance(config, dict):
            name = entry.get("name") or config.get("name")
            if isinstance(name, str):
                configs.setdefault(name, config)
            layers = config.get("layers")
            if isinstance(layers, list):
                stack.extend(layers)
        elif isinstance(config, list):
            stack.extend(config)
    return configs


def check_declared_sizes(lowered: Any, topology: Any, source: str) -> None:
    """Refuse an input or layer output over the per-row limit (see the module docstring)."""
    limit = max_tensor_bytes()
    candidates = [(f"input '{t.name}'", t.name, t.shape) for t in lowered.inputs]
    for layer in lowered.layers:
        label = f"layer '{layer['name']}' ({layer['class_name']})"
        candidates += [(label, layer["name"], s) for s in layer["output_shapes"] or []]
    configs = None
    for label, name, shape in candidates:
        need = _row_bytes(shape)
        if need <= limit:
            continue
        configs = configs if configs is not None else _layer_configs(topology)
        big = {int(d) for d in list(shape)[1:] if d is not None and int(d) > 1}
        fields = _fields_with(configs.get(name), big)
        where = f" (from {'; '.join(fields)})" if fields else ""
        shape_text = "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"
        raise InvalidModelError(
            f"{source}: {label}: shape {shape_text}{where} would take {_gib(need)} per row; "
            f"expected at most {_gib(limit)} (set {_ENV} to allow more)",
            layer=name,
        )


__all__ = ["DEFAULT_MAX_TENSOR_BYTES", "check_declared_sizes", "max_tensor_bytes"]
