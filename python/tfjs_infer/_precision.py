"""Opt-in reduced precision (``load_model(..., precision=...)``).

``"fp32"`` (the default) gives TF.js's / Keras's float32 numbers. ``"bf16"``
and ``"int8"`` run the matrix products of dense and convolution layers in
bfloat16 or int8 (README "Reduced precision"); every other op stays float32.
Where the chosen instruction set lacks the kernels, the model runs in float32
and a :class:`PrecisionWarning` says so.
"""

from __future__ import annotations

import warnings
from typing import Any

from ._model_base import ModelBase
from .errors import InvalidArgumentError

PRECISIONS = ("fp32", "bf16", "int8")

# What each precision needs from the CPU, for the fallback warning.
_NEEDS = {
    "bf16": "AVX512-BF16 (isa 'avx512'), or the scalar reference (isa 'generic')",
    "int8": "AVX512-VNNI (isa 'avx512') or AVX-VNNI (isa 'avx2'), or the scalar "
    "reference (isa 'generic')",
}


class PrecisionWarning(UserWarning):
    """The requested precision is not available here: the model runs in float32."""


def check_precision(precision: Any) -> str:
    """The precision name, or InvalidArgumentError naming the choices."""
    if not isinstance(precision, str) or precision not in PRECISIONS:
        raise InvalidArgumentError(
            f"precision must be one of {', '.join(repr(p) for p in PRECISIONS)}; "
            f"received {precision!r}"
        )
    return precision


def warn_if_fallback(requested: str, core: Any) -> None:
    """Warn when the compiled model could not take the requested precision."""
    if requested != "fp32" and core.precision != requested:
        warnings.warn(
            f"precision={requested!r} needs {_NEEDS[requested]}; the kernels of isa "
            f"{core.isa!r} on this CPU have none, so this model runs in float32",
            PrecisionWarning,
            stacklevel=4,
        )


def precision_line(core: Any) -> str:
    """Summary footer: the precision and which ops run their GEMM in it."""
    if core.precision == "fp32":
        return "Precision: fp32"
    ops = [(op[0], p) for op, p in zip(core.ops(), core.op_precisions())]
    low = [name for name, p in ops if p != "fp32"]
    shown = ", ".join(low[:6]) + (" ..." if len(low) > 6 else "")
    return (
        f"Precision: {core.precision} for the matrix products of {len(low)} of {len(ops)} "
        f"ops ({shown}); the rest fp32"
    )


class PrecisionMixin(ModelBase):
    """Model's precision properties."""

    @property
    def precision(self) -> str:
        """What dense and convolution layers compute in: ``"fp32"``, ``"bf16"``
        or ``"int8"`` (``"fp32"`` when the requested one is not available)."""
        return str(self._core.precision)

    def op_precisions(self) -> list[tuple[str, str, str]]:
        """Per compiled op: (layer name, op type, precision of its matrix product)."""
        return [(op[0], op[1], p) for op, p in zip(self._core.ops(), self._core.op_precisions())]
