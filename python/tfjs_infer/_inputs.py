"""Model inputs: match what the caller passed to the model's inputs, cast
dtypes as Keras/TF.js predict would, apply each framework's one rank rule,
validate shapes, and (on request) refuse non-finite values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from . import _core
from .errors import InputDtypeError, InputShapeError, InputValueError
from .frontend.lower import TensorInfo
from .frontend.registry import fmt_shape


def prepare_inputs(specs: Sequence[TensorInfo], x: Any, keras_rank_rule: bool) -> list[np.ndarray]:
    """Match `x` (one array, a list in input order, or a dict by input name)
    to the model's inputs `specs`, cast dtypes and validate shapes.

    `keras_rank_rule` picks Keras's rank adjustment over TF.js's (see
    :func:`_adjust_rank`).
    """
    if isinstance(x, Mapping):
        missing = [s.name for s in specs if s.name not in x]
        if missing:
            raise InputShapeError(
                f"missing input(s) {missing}; the model's inputs are "
                f"{[s.name for s in specs]}, "
                f"received keys {list(x)}"
            )
        names = {s.name for s in specs}
        extra = [k for k in x if k not in names]
        if extra:
            # (Keras warns and drops them; a misspelt key is more likely a bug.)
            raise InputShapeError(
                f"unexpected input key(s) {extra}; the model's inputs are "
                f"{[s.name for s in specs]}",
                extra=extra,
            )
        items = [x[s.name] for s in specs]
    elif isinstance(x, (list, tuple)) and (
        len(specs) > 1 or (len(x) == 1 and isinstance(x[0], np.ndarray))
    ):
        items = list(x)
    else:
        items = [x]
    if len(items) != len(specs):
        raise InputShapeError(
            f"the model takes {len(specs)} input(s) {[s.name for s in specs]}, "
            f"received {len(items)}"
        )
    return [_prepare_one(spec, item, keras_rank_rule) for spec, item in zip(specs, items)]


def check_finite(specs: Sequence[TensorInfo], arrays: Sequence[np.ndarray]) -> None:
    """Raise InputValueError at the first NaN / +-inf of a float input (one
    scan in the core; the count for the message only when there is one)."""
    for spec, arr in zip(specs, arrays):
        if arr.dtype != np.float32:
            continue  # int32 inputs (ids) cannot hold NaN
        first = _core.first_nonfinite(arr)
        if first >= 0:
            index = tuple(int(i) for i in np.unravel_index(first, arr.shape))
            count = arr.size - int(np.count_nonzero(np.isfinite(arr)))
            raise InputValueError(
                f"input '{spec.name}' holds {arr[index]} at index {index} "
                f"({count} non-finite value(s) in all); check_finite=True expects "
                "finite numbers",
                name=spec.name,
                index=index,
            )


def _prepare_one(spec: TensorInfo, value: Any, keras_rank_rule: bool) -> np.ndarray:
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise InputDtypeError(f"input '{spec.name}': cannot convert to an array ({exc})") from None
    if arr.dtype.kind not in "biuf":
        raise InputDtypeError(
            f"input '{spec.name}': expected {spec.dtype} numbers, "
            f"received an array of dtype {arr.dtype}",
            name=spec.name,
        )
    given = tuple(arr.shape)
    arr = _adjust_rank(spec, arr, keras_rank_rule)
    rank = len(spec.shape)
    if arr.ndim != rank or any(
        d is not None and d != a for d, a in zip(spec.shape[1:], arr.shape[1:])
    ):
        what = f" (rank {rank})" if arr.ndim != rank else ""
        raise InputShapeError(
            f"input '{spec.name}': expected shape {fmt_shape(spec.shape)}{what}, received {given}",
            name=spec.name,
            expected=spec.shape,
            received=given,
        )
    if spec.dtype == "float32":
        if arr.dtype != np.float32:
            arr = arr.astype(np.float32)
    else:
        if arr.dtype.kind == "f":
            if not np.all(np.isfinite(arr)):
                raise InputDtypeError(
                    f"input '{spec.name}': ids must be finite numbers", name=spec.name
                )
            arr = np.trunc(arr)
        if arr.dtype != np.int32:
            info = np.iinfo(np.int32)
            if arr.size and (arr.min() < info.min or arr.max() > info.max):
                raise InputDtypeError(
                    f"input '{spec.name}': values do not fit int32", name=spec.name
                )
            arr = arr.astype(np.int32)
    return np.require(arr, requirements=("C", "A"))


def _adjust_rank(spec: TensorInfo, arr: np.ndarray, keras_rank_rule: bool) -> np.ndarray:
    """The one rank change each framework's predict makes before its strict
    rank check (README "Input shapes").

    TF.js (LayersModel.predict) turns a rank-1 array into (n, 1). Keras 2 and
    3 (Functional._adjust_input_rank / _conform_to_reference_input) squeeze a
    trailing size-1 axis the model does not have, or add one the model has.
    """
    rank = len(spec.shape)
    if not keras_rank_rule:
        return arr[:, None] if arr.ndim == 1 else arr
    if arr.ndim == rank + 1 and arr.shape[-1] == 1:
        return arr[..., 0]
    if arr.ndim == rank - 1 and spec.shape[-1] == 1:
        return arr[..., None]
    return arr
