"""Model: a loaded, compiled model and its predict API."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Union

import numpy as np

from . import _core
from .errors import InputDtypeError, InputShapeError
from .frontend import lower_model
from .frontend.lower import TensorInfo
from .io import ModelSpec, read_model

ArrayLike = Union[np.ndarray, Sequence[Any]]
Inputs = Union[ArrayLike, Sequence[ArrayLike], Mapping[str, ArrayLike]]

_DEFAULT_BATCH = 32


def load_model(
    source: str | os.PathLike[str],
    *,
    num_threads: int | None = None,
    isa: str | None = None,
    strict: bool = True,
) -> Model:
    """Load a TF.js LayersModel (model.json or its folder) or a Keras model.

    Parameters
    ----------
    source:
        Path to ``model.json``, a folder holding one, a ``.keras`` or an ``.h5`` file.
    num_threads:
        Threads the compute core may use per call (default: all cores).
    isa:
        Force an instruction set (``"generic"``, ``"avx2"``, ``"avx512"``);
        default: the best this CPU has (or ``TFJS_INFER_ISA``).
    strict:
        Refuse files holding weights that no layer uses (as TF.js does).

    Returns
    -------
    Model

    Raises
    ------
    InvalidModelError, WeightsError, UnsupportedLayerError
        The file is malformed or uses something tfjs_infer does not support.
    """
    spec = read_model(source)
    return Model(spec, num_threads=num_threads, isa=isa, strict=strict)


class Model:
    """A compiled model: call :meth:`predict` with numpy arrays.

    Immutable after loading; many threads may call ``predict`` at once.
    """

    def __init__(
        self, spec: ModelSpec, *, num_threads: int | None = None, isa: str | None = None,
        strict: bool = True,
    ) -> None:
        self._spec = spec
        lowered = lower_model(spec, strict=strict)
        self._inputs = lowered.inputs
        self._outputs = lowered.outputs
        self._output_keys = lowered.output_keys
        self._layers = lowered.layers
        self._core = _core.CompiledModel(lowered.graph, isa=isa or "", num_threads=num_threads or 0)

    # -- description -----------------------------------------------------------
    @property
    def inputs(self) -> list[TensorInfo]:
        """The model inputs: name, shape (None = batch or any size), dtype."""
        return list(self._inputs)

    @property
    def outputs(self) -> list[TensorInfo]:
        """The model outputs: name, shape (None = batch or any size), dtype."""
        return list(self._outputs)

    @property
    def num_threads(self) -> int:
        """Threads the core uses per predict call."""
        return int(self._core.num_threads)

    @num_threads.setter
    def num_threads(self, n: int) -> None:
        self._core.num_threads = int(n)

    @property
    def isa(self) -> str:
        """The instruction set the kernels of this model use."""
        return str(self._core.isa)

    @property
    def labels(self) -> list[str] | None:
        """Class labels from the model's metadata (Teachable Machine), if any."""
        return self._spec.labels

    @property
    def metadata(self) -> dict[str, Any]:
        """metadata.json beside the model, and userDefinedMetadata from model.json."""
        meta = dict(self._spec.metadata)
        if self._spec.user_defined_metadata:
            meta.setdefault("user_defined", self._spec.user_defined_metadata)
        return meta

    @property
    def source(self) -> str:
        return self._spec.source

    def summary(self, print_fn: Any = print) -> str:
        """A Keras-style table of layers, output shapes and parameter counts."""
        rows = [("Layer (type)", "Output Shape", "Param #")]
        total = 0
        for layer in self._layers:
            shapes = layer["output_shapes"] or [()]
            shape_text = ", ".join(_fmt(s) for s in shapes[:2]) + (" ..." if len(shapes) > 2 else "")
            rows.append((f"{layer['name']} ({layer['class_name']})", shape_text, f"{layer['params']:,}"))
            total += layer["params"]
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        line = "=" * (sum(widths) + 6)
        out = [f'Model: "{Path(self.source).name or "model"}"', line]
        out.append("  ".join(c.ljust(w) for c, w in zip(rows[0], widths)))
        out.append(line)
        out += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows[1:]]
        out.append(line)
        out.append(f"Total params: {total:,}")
        out.append("Inputs: " + ", ".join(f"{t.name} {_fmt(t.shape)} {t.dtype}" for t in self._inputs))
        out.append("Outputs: " + ", ".join(f"{t.name} {_fmt(t.shape)} {t.dtype}" for t in self._outputs))
        text = "\n".join(out)
        if print_fn is not None:
            print_fn(text)
        return text

    def __repr__(self) -> str:
        ins = ", ".join(f"{t.name}{_fmt(t.shape)}" for t in self._inputs)
        outs = ", ".join(f"{t.name}{_fmt(t.shape)}" for t in self._outputs)
        return f"<tfjs_infer.Model {ins} -> {outs}, isa={self.isa}, threads={self.num_threads}>"

    # -- prediction -------------------------------------------------------------
    def predict(self, x: Inputs, batch_size: int | None = None, verbose: int = 0) -> Any:
        """Run the model on `x` in batches, like Keras/TF.js ``predict``.

        Parameters
        ----------
        x:
            One array (single-input models), a list in input order, or a dict
            by input name. float64 and integer arrays are cast as Keras would.
        batch_size:
            Rows per core call (default 32). Results do not depend on it.
        verbose:
            Accepted for Keras compatibility.

        Returns
        -------
        numpy.ndarray, or a list (dict) of them for multi-output models.

        Raises
        ------
        InputShapeError, InputDtypeError
            An input does not fit the model; the message names it.
        """
        arrays = self._prepare_inputs(x)
        bs = _DEFAULT_BATCH if batch_size is None else batch_size
        if not isinstance(bs, (int, np.integer)) or isinstance(bs, bool) or bs < 1:
            raise ValueError(f"batch_size must be a positive integer, received {batch_size!r}")
        n = arrays[0].shape[0]
        for info, a in zip(self._inputs, arrays):
            if a.shape[0] != n:
                raise InputShapeError(
                    f"input '{info.name}' has {a.shape[0]} rows but input "
                    f"'{self._inputs[0].name}' has {n}", name=info.name,
                )
        if n <= bs:
            return self._structure(self._core.run(arrays))
        parts: list[list[np.ndarray]] = []
        for start in range(0, n, int(bs)):
            parts.append(self._core.run([a[start : start + bs] for a in arrays]))
        outs = [np.concatenate([p[j] for p in parts], axis=0) for j in range(len(self._outputs))]
        return self._structure(outs)

    def predict_on_batch(self, x: Inputs) -> Any:
        """Run the model on `x` as one batch."""
        return self._structure(self._core.run(self._prepare_inputs(x)))

    __call__ = predict_on_batch

    def _structure(self, outs: list[np.ndarray]) -> Any:
        if self._output_keys is not None:
            return dict(zip(self._output_keys, outs))
        return outs[0] if len(outs) == 1 else list(outs)

    def _prepare_inputs(self, x: Inputs) -> list[np.ndarray]:
        """Match inputs to the model's, cast dtypes and validate shapes."""
        specs = self._inputs
        if isinstance(x, Mapping):
            missing = [s.name for s in specs if s.name not in x]
            if missing:
                raise InputShapeError(
                    f"missing input(s) {missing}; the model's inputs are {[s.name for s in specs]}, "
                    f"received keys {list(x)}"
                )
            items = [x[s.name] for s in specs]
        elif isinstance(x, (list, tuple)) and len(specs) > 1:
            items = list(x)
        elif isinstance(x, (list, tuple)) and len(x) == 1 and isinstance(x[0], np.ndarray):
            items = list(x)
        else:
            items = [x]
        if len(items) != len(specs):
            raise InputShapeError(
                f"the model takes {len(specs)} input(s) {[s.name for s in specs]}, received {len(items)}"
            )
        return [_prepare_one(spec, item) for spec, item in zip(specs, items)]


def _prepare_one(spec: TensorInfo, value: Any) -> np.ndarray:
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise InputDtypeError(f"input '{spec.name}': cannot convert to an array ({exc})") from None
    if arr.dtype.kind not in "biuf":
        raise InputDtypeError(
            f"input '{spec.name}': expected {spec.dtype} numbers, received an array of dtype {arr.dtype}",
            name=spec.name,
        )
    rank = len(spec.shape)
    # Keras: adjust a trailing size-1 axis; TF.js expands rank-1 inputs to (n, 1).
    if arr.ndim == rank - 1 and spec.shape[-1] == 1:
        arr = arr[..., None]
    elif arr.ndim == rank + 1 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim != rank or any(d is not None and d != a for d, a in zip(spec.shape[1:], arr.shape[1:])):
        raise InputShapeError(
            f"input '{spec.name}': expected shape {_fmt(spec.shape)}, received {tuple(arr.shape)}",
            name=spec.name, expected=spec.shape, received=tuple(arr.shape),
        )
    if spec.dtype == "float32":
        if arr.dtype != np.float32:
            arr = arr.astype(np.float32)
    else:
        if arr.dtype.kind == "f":
            if not np.all(np.isfinite(arr)):
                raise InputDtypeError(f"input '{spec.name}': ids must be finite numbers", name=spec.name)
            arr = np.trunc(arr)
        if arr.dtype != np.int32:
            info = np.iinfo(np.int32)
            if arr.size and (arr.min() < info.min or arr.max() > info.max):
                raise InputDtypeError(f"input '{spec.name}': values do not fit int32", name=spec.name)
            arr = arr.astype(np.int32)
    return np.ascontiguousarray(arr)


def _fmt(shape: Any) -> str:
    shape = tuple(shape)
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
