"""The Keras-style text of Model.summary()."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .frontend.lower import TensorInfo
from .frontend.registry import fmt_shape


def summary_text(
    name: str,
    layers: Sequence[dict[str, Any]],
    inputs: Sequence[TensorInfo],
    outputs: Sequence[TensorInfo],
    semantics: Any,
    labels: Sequence[str] | None,
    line_length: int | None = None,
    precision: str | None = None,
    devices: Sequence[str] | None = None,
    device_name: str = "cpu",
) -> str:
    """The layer table (nested models' layers indented under them), the
    parameter counts with their float32 size, the inputs, outputs, semantics,
    the precision line (if given) and labels. `devices`, for a model on a
    device: per layer where it runs (a "Device" column and a footer line)."""
    header: tuple[str, ...] = ("Layer (type)", "Output Shape", "Param #")
    rows: list[tuple[str, ...]] = []
    total = non_trainable = 0
    for layer in layers:
        shapes = layer["output_shapes"] or [()]
        shape_text = ", ".join(fmt_shape(s) for s in shapes[:2])
        shape_text += " ..." if len(shapes) > 2 else ""
        depth = layer["scope"].count("/") + 1 if layer.get("scope") else 0
        label = "  " * depth + f"{layer['name']} ({layer['class_name']})"
        rows.append((label, shape_text, f"{layer['params']:,}"))
        total += layer["params"]
        non_trainable += layer.get("non_trainable", 0)
    if devices is not None:
        header += ("Device",)
        rows = [(*row, where) for row, where in zip(rows, devices)]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    gaps = 2 * (len(header) - 1)
    if line_length is not None and line_length > sum(widths) + gaps:
        widths[0] += line_length - (sum(widths) + gaps)
    width = sum(widths) + gaps
    out = [f'Model: "{name}"', "=" * width]
    out.append(_row(header, widths))
    out.append("=" * width)
    out += [_row(r, widths) for r in rows]
    out.append("=" * width)
    out.append(f"Total params: {total:,} ({_size(total * 4)})")
    trainable = total - non_trainable
    out.append(f"Trainable params: {trainable:,} ({_size(trainable * 4)})")
    out.append(f"Non-trainable params: {non_trainable:,} ({_size(non_trainable * 4)})")
    out.append("_" * width)
    out.append("Inputs:  " + ", ".join(_describe(t) for t in inputs))
    out.append("Outputs: " + ", ".join(_describe(t) for t in outputs))
    out.append(f"Semantics: {semantics}")
    if precision:
        out.append(precision)
    if devices is not None:
        out.append(f"Device:  {device_name}; " + _device_note(devices))
    if labels:
        shown = ", ".join(labels[:10]) + (" ..." if len(labels) > 10 else "")
        out.append(f"Labels:  {len(labels)} ({shown})")
    return "\n".join(out)


def _device_note(devices: Sequence[str]) -> str:
    on_cpu = sum(1 for d in devices if "cpu" in d)
    if not on_cpu:
        return "every layer runs on it"
    return f"{on_cpu} layer(s) run on the CPU (no kernel on the device), with a copy each way"


def _describe(t: TensorInfo) -> str:
    return f"{t.name} {fmt_shape(t.shape)} {t.dtype}"


def _row(cells: Sequence[str], widths: Sequence[int]) -> str:
    return "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()


def _size(nbytes: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if nbytes >= scale:
            return f"{nbytes / scale:.2f} {unit}"
    return f"{nbytes} B"
