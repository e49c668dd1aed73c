"""BatchPredictor: one picklable object that scores batches in Ray, Dask and Spark."""

from __future__ import annotations

import hashlib
import inspect
import pickle
import sys
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._loading import load_model
from ..errors import InputShapeError, InputValueError
from ..model import Model
from ..postprocess import top_k as rank
from .columns import Adapter, adapter_for, arrow_backed, arrow_type
from .engines import engine_threads

# Models loaded in this process, by (source key, load options, threads): a
# worker loads each model once however many predictor copies reach it.
_MODELS: dict[tuple[Any, ...], Model] = {}
_MODELS_LOCK = threading.Lock()
_LOAD_OPTIONS = set(inspect.signature(load_model).parameters) - {"source", "num_threads"}

TOP_LABELS = "top_labels"
TOP_SCORES = "top_scores"


class BatchPredictor:
    """Score batches of rows with a model, in any process an engine sends it to.

    Parameters
    ----------
    source:
        What :func:`tfjs_infer.load_model` takes (a path, an http(s) URL, bytes,
        a binary file, which is read now), or a loaded :class:`Model`.
    outputs:
        Names of the outputs to add as columns (default: every output).
    top_k:
        Also add ``top_labels`` and ``top_scores`` columns: the `top_k` best
        classes of the ranked output (one value per row when `top_k` is 1, a
        list of `top_k` per row else), named by `labels`, the model's labels,
        or the class index as text.
    feature_columns:
        For a model with one 1-D input, the numeric columns that make up its
        features, in order (default: every numeric column, when the batch has
        no column named as the input).
    num_threads:
        Core threads per call. Default: what the engine gave the task (Ray:
        the actor's ``num_cpus``; Dask: the worker's ``nthreads``; Spark:
        ``spark.task.cpus``), or every core outside an engine.
    labels:
        Class names for `top_k` instead of the model's labels.
    **load_kwargs:
        Further :func:`load_model` options (``isa``, ``weights``, ``headers``...).

    Pickling sends the source and options (the weights too when built from a
    Model, or the bytes when built from bytes); the model is loaded on the
    first call in each process and cached there by source.

    Calling it on a batch returns the same type with every received column
    and a column per output, named as the output: a list per row (nested for
    outputs of several dimensions), or one value per row when the output has
    one. Batch types: a dict of numpy arrays (Ray Data), a pandas DataFrame,
    a pyarrow Table or RecordBatch, each with a column per model input named
    as the input (an array or list per row) or the feature columns; a pandas
    Series or several (a ``pandas_udf``) or a numpy array (``map_blocks``)
    give just the ranked (or only) output.
    """

    def __init__(
        self,
        source: Any,
        *,
        outputs: Sequence[str] | str | None = None,
        top_k: int | None = None,
        feature_columns: Sequence[str] | None = None,
        num_threads: int | None = None,
        labels: Sequence[str] | None = None,
        **load_kwargs: Any,
    ) -> None:
        unknown = sorted(set(load_kwargs) - _LOAD_OPTIONS)
        if unknown:
            raise InputValueError(
                f"unknown BatchPredictor option(s) {unknown}; load options are "
                f"{sorted(_LOAD_OPTIONS)}"
            )
        if top_k is not None and (isinstance(top_k, bool) or int(top_k) < 1):
            raise InputValueError(f"top_k must be a positive integer, received {top_k!r}")
        self.outputs = [outputs] if isinstance(outputs, str) else _opt_list(outputs)
        self.top_k = None if top_k is None else int(top_k)
        self.feature_columns = _opt_list(feature_columns)
        self.num_threads = num_threads
        self.labels = _opt_list(labels)
        self.load_kwargs = dict(load_kwargs)
        self._model: Model | None = None
        self._blob: bytes | None = None
        if isinstance(source, Model):
            self.source: Any = None
            self._model = source
            self._key: tuple[Any, ...] = ("model", uuid.uuid4().hex)
            if num_threads is not None:
                source.num_threads = num_threads
        else:
            if hasattr(source, "read"):
                source = source.read()
            if isinstance(source, (bytearray, memoryview)):
                source = bytes(source)
            if isinstance(source, Path):
                source = str(source)
            if not isinstance(source, (str, bytes)):
                raise InputValueError(
                    "source: expected a path, URL, bytes, binary file or Model, "
                    f"received {type(source).__name__}"
                )
            self.source = source
            self._key = (_source_key(source), _freeze(self.load_kwargs))

    # -- pickling -----------------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        state = {k: v for k, v in self.__dict__.items() if k != "_model"}
        if self.source is None and state["_blob"] is None:
            # Built from a Model: its weights travel as one pickled blob, unpickled
            # (compiled) only on the first call in a process that lacks it.
            state["_blob"] = pickle.dumps(self._model, protocol=pickle.HIGHEST_PROTOCOL)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._model = None

    # -- the model ----------------------------------------------------------------
    @property
    def model(self) -> Model:
        """The model, loaded (once per process and source) on first use."""
        if self._model is None:
            self._model = self._load()
        return self._model

    def _load(self) -> Model:
        threads = self.num_threads if self.num_threads is not None else engine_threads()[0]
        key = (*self._key, threads)
        with _MODELS_LOCK:
            model = _MODELS.get(key)
            if model is None:
                if self.source is None:
                    assert self._blob is not None
                    model = pickle.loads(self._blob)
                    if threads is not None:
                        model.num_threads = threads
                else:
                    model = load_model(self.source, num_threads=threads, **self.load_kwargs)
                _MODELS[key] = model
        return model

    def output_columns(self) -> list[tuple[str, tuple[int, ...], str]]:
        """The columns a call adds: (name, shape of one row's value, dtype)."""
        model = self.model
        names = _output_names(model)
        chosen = self.outputs if self.outputs is not None else names
        columns = []
        for name in chosen:
            if name not in names:
                raise InputValueError(f"outputs: no output named '{name}'; the outputs are {names}")
            info = model.outputs[names.index(name)]
            shape = tuple(info.shape[1:])
            if any(d is None for d in shape):
                raise InputShapeError(
                    f"output '{name}' has shape {info.shape}: rows of unknown size are no column"
                )
            row = () if int(np.prod(shape, dtype=np.int64)) == 1 else shape
            columns.append((name, tuple(int(d) for d in row), info.dtype))
        if self.top_k is not None:
            one = self.top_k == 1
            columns.append((TOP_LABELS, () if one else (self.top_k,), "str"))
            columns.append((TOP_SCORES, () if one else (self.top_k,), "float32"))
        return columns

    # -- scoring --------------------------------------------------------------------
    def __call__(self, batch: Any, *more: Any) -> Any:
        """Score one batch; see the class docstring for the types taken and given."""
        if isinstance(batch, np.ndarray) and not more:
            return self._single_output(self.model.predict(batch))
        if _is_series(batch):
            return self._series(batch, *more)
        adapter = adapter_for(batch)
        return adapter.with_columns(self.predict_columns(adapter))

    def predict_columns(self, adapter: Adapter) -> dict[str, np.ndarray]:
        """The new columns for the batch behind `adapter`, by name."""
        model = self.model
        received = adapter.names()
        new = self._columns_of(self._predict(model, self._inputs(model, adapter)))
        clash = [name for name in new if name in received]
        if clash:
            raise InputValueError(
                f"the batch already has column(s) {clash}; the predictor adds columns "
                f"{list(new)}: rename them, or choose outputs=[...]"
            )
        return new

    def _predict(self, model: Model, inputs: list[np.ndarray]) -> dict[str, np.ndarray]:
        got = model.predict(inputs[0] if len(inputs) == 1 else inputs)
        if isinstance(got, dict):
            return dict(got)
        listed = got if isinstance(got, list) else [got]
        return dict(zip(_output_names(model), listed))

    def _columns_of(self, outs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        columns = {}
        for name, row_shape, _ in self.output_columns():
            if name in outs:
                value = outs[name]
                columns[name] = value.reshape((len(value), *row_shape))
        if self.top_k is not None:
            probs = outs[self._ranked_output(list(outs))]
            labels = self.labels if self.labels is not None else self.model.labels
            if labels is None:
                labels = [str(i) for i in range(probs.shape[-1])]
            best = rank(probs.reshape(len(probs), -1), k=self.top_k, labels=labels)
            names: np.ndarray = np.asarray(best.labels, dtype=object).reshape(
                len(probs), self.top_k
            )
            scores: np.ndarray = np.asarray(best.scores, dtype=probs.dtype)
            if self.top_k == 1:
                names, scores = names[:, 0], scores[:, 0]
            columns[TOP_LABELS] = names
            columns[TOP_SCORES] = scores
        return columns

    def _ranked_output(self, names: list[str]) -> str:
        if self.outputs is not None and len(self.outputs) == 1:
            return self.outputs[0]
        return names[self.model._output_index(None, self.labels)]

    def _inputs(self, model: Model, adapter: Adapter) -> list[np.ndarray]:
        received = adapter.names()
        specs = model.inputs
        if all(s.name in received for s in specs):
            return [_input_rows(adapter, s.name, s.shape, s.dtype) for s in specs]
        if len(specs) == 1 and len(specs[0].shape) == 2:
            return [self._features(adapter, received, specs[0].shape[1])]
        missing = [s.name for s in specs if s.name not in received]
        raise InputShapeError(
            f"the batch has no column(s) {missing}: expected a column per model input "
            f"{[s.name for s in specs]}, received columns {received}"
        )

    def _features(self, adapter: Adapter, received: list[str], width: int | None) -> np.ndarray:
        name = self.model.inputs[0].name
        if self.feature_columns is not None:
            chosen = self.feature_columns
            absent = [c for c in chosen if c not in received]
            if absent:
                raise InputShapeError(
                    f"feature_columns {absent} are not in the batch (columns: {received})"
                )
        else:
            chosen = [c for c in received if adapter.is_scalar_numeric(c)]
        if width is not None and len(chosen) != width:
            raise InputShapeError(
                f"input '{name}' takes {width} features: expected a column named '{name}' or "
                f"{width} numeric feature columns, received {len(chosen)} ({chosen[:8]}"
                + (" ...)" if len(chosen) > 8 else ")"),
                name=name,
            )
        if not chosen:
            return np.zeros((adapter.rows(), 0), np.float32)
        return np.column_stack([adapter.column(c) for c in chosen])

    def _series(self, first: Any, *more: Any) -> Any:
        """pandas_udf: one Series holding the input's rows, or feature Series."""
        import pandas as pd

        if more:
            frame = pd.concat([first, *more], axis=1, ignore_index=True)
            frame.columns = [f"f{i}" for i in range(frame.shape[1])]
            features = frame.to_numpy()
            out = self._single_output(self.model.predict(features))
        else:
            rows = adapter_for(first.to_frame("x")).column("x")
            out = self._single_output(self.model.predict(rows))
        cells = out if out.ndim == 1 else _object_rows(out)
        return pd.Series(cells, index=first.index)

    def _single_output(self, got: Any) -> np.ndarray:
        names = _output_names(self.model)
        if isinstance(got, np.ndarray):
            outs = {names[0]: got}
        else:
            outs = dict(got) if isinstance(got, dict) else dict(zip(names, got))
        if len(outs) == 1:
            name = next(iter(outs))
        elif self.outputs is not None and len(self.outputs) == 1:
            name = self.outputs[0]
        else:
            raise InputValueError(
                f"the model has outputs {names}: choose one with outputs=['name'] "
                "to get one array back"
            )
        value = outs[name]
        return value.reshape(len(value)) if value[:1].size == 1 else value

    # -- schemas for engines -----------------------------------------------------------
    def meta(self, frame: Any) -> Any:
        """An empty pandas DataFrame like `frame` plus the new columns (Dask's meta=)."""
        import pandas as pd

        out = frame.iloc[:0].copy()
        backed = arrow_backed(frame)
        for name, row_shape, dtype in self.output_columns():
            if backed:
                kind: Any = pd.ArrowDtype(arrow_type(row_shape, dtype))
            else:
                kind = object if (row_shape or dtype == "str") else np.dtype(dtype)
            out[name] = pd.Series([], dtype=kind)
        return out

    def arrow_schema(self, schema: Any) -> Any:
        """`schema` (a pyarrow Schema) plus the new columns."""
        import pyarrow as pa

        for name, row_shape, dtype in self.output_columns():
            schema = schema.append(pa.field(name, arrow_type(row_shape, dtype)))
        return schema

    def spark_schema(self, schema: Any) -> Any:
        """`schema` (a Spark StructType) plus the new columns (for mapInPandas)."""
        from pyspark.sql import types as T

        fields = list(schema.fields)
        for name, row_shape, dtype in self.output_columns():
            kind: Any = T.StringType() if dtype == "str" else _spark_number(dtype)
            for _ in row_shape:
                kind = T.ArrayType(kind, containsNull=False)
            fields.append(T.StructField(name, kind, nullable=False))
        return T.StructType(fields)

    def __repr__(self) -> str:
        what = "<Model>" if self.source is None else _describe_source(self.source)
        return f"BatchPredictor({what}, outputs={self.outputs}, top_k={self.top_k})"


def _spark_number(dtype: str) -> Any:
    from pyspark.sql import types as T

    return {"float32": T.FloatType(), "int32": T.IntegerType()}.get(dtype, T.DoubleType())


def _object_rows(values: np.ndarray) -> np.ndarray:
    cells = np.empty(len(values), dtype=object)
    cells[:] = list(values)
    return cells


def _input_rows(adapter: Adapter, name: str, shape: tuple, dtype: str) -> np.ndarray:
    """Input `name`'s rows from its column; raw bytes per row hold uint8 values, one
    per byte, or the input's own dtype (little-endian) when a row has exactly
    itemsize bytes per value (64 float32 as 256 bytes: parquet reads such a column
    ~6x cheaper than a list<float32>, with no level per value to decode)."""
    values = adapter.column(name)
    if adapter.is_bytes(name):
        values = _bytes_as(values, shape, np.dtype(dtype))
    return _unflatten(values, shape)


def _bytes_as(rows: np.ndarray, shape: tuple, dtype: np.dtype) -> np.ndarray:
    """uint8 rows (rows, width) as values of `dtype` when width is the input's
    values times its itemsize; otherwise unchanged (one uint8 value per byte)."""
    row = shape[1:]
    if dtype.itemsize == 1 or not row or any(d is None for d in row):
        return rows
    values = int(np.prod(row, dtype=np.int64))
    if rows.ndim != 2 or rows.shape[1] != values * dtype.itemsize:
        return rows
    rows = np.ascontiguousarray(rows)
    if rows.ctypes.data % dtype.itemsize:  # a slice at an odd byte offset: align
        rows = rows.copy()
    return rows.view(dtype.newbyteorder("<")).astype(dtype, copy=False)


def _unflatten(values: np.ndarray, shape: tuple) -> np.ndarray:
    """Flat rows (rows, h*w*c) of an input of shape (None, h, w, c) take its shape."""
    row = shape[1:]
    known = len(row) > 1 and all(d is not None for d in row)
    if known and values.ndim == 2 and values.shape[1] == int(np.prod(row, dtype=np.int64)):
        return values.reshape((len(values), *row))
    return values


def _output_names(model: Model) -> list[str]:
    keys = model._output_keys
    return list(keys) if keys is not None else [t.name for t in model.outputs]


def _is_series(batch: Any) -> bool:
    if "pandas" not in sys.modules:
        return False
    import pandas as pd

    return isinstance(batch, pd.Series)


def _opt_list(values: Sequence[str] | None) -> list[str] | None:
    return None if values is None else [str(v) for v in values]


def _source_key(source: str | bytes) -> tuple[str, str]:
    if isinstance(source, bytes):
        return ("bytes", hashlib.sha256(source).hexdigest())
    if source.startswith(("http://", "https://")):
        return ("url", source)
    return ("path", str(Path(source).resolve()))


def _freeze(value: Any) -> Any:
    """A hashable stand-in for load options (bytes by digest, dicts sorted)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return ("bytes", hashlib.sha256(bytes(value)).hexdigest())
    if isinstance(value, dict):
        return tuple(sorted((str(k), _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return repr(value)


def _describe_source(source: str | bytes) -> str:
    return f"<{len(source)} bytes>" if isinstance(source, bytes) else repr(source)
