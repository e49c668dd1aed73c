"""Columns in and out of the batch types engines hand out.

A batch is a dict of numpy arrays (Ray Data's ``numpy`` format), a pandas
DataFrame, or a pyarrow Table / RecordBatch. Each type gets a small adapter:
its column names, one column as a numpy array with a row per batch row, and
a copy of the batch with new columns appended (rows never move; received
columns are passed through untouched). pandas and pyarrow are imported only
when a batch of theirs arrives.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import InputDtypeError, InputShapeError, InputValueError


class Adapter:
    """One batch type: read columns, append columns. Subclasses per type."""

    def __init__(self, batch: Any) -> None:
        self.batch = batch

    def names(self) -> list[str]:
        raise NotImplementedError

    def rows(self) -> int:
        raise NotImplementedError

    def column(self, name: str) -> np.ndarray:
        """Column `name` as an array of shape (rows, ...)."""
        raise NotImplementedError

    def is_scalar_numeric(self, name: str) -> bool:
        """Whether `name` holds one number per row (a feature column)."""
        raise NotImplementedError

    def is_bytes(self, name: str) -> bool:
        """Whether `name` holds raw bytes per row (``column`` gives them as uint8)."""
        raise NotImplementedError

    def with_columns(self, new: dict[str, np.ndarray]) -> Any:
        """The batch with `new` appended: one value per row, or an array per row."""
        raise NotImplementedError


class DictAdapter(Adapter):
    """A dict of numpy arrays keyed by column name (Ray Data's numpy batches)."""

    def names(self) -> list[str]:
        return [str(k) for k in self.batch]

    def rows(self) -> int:
        return len(next(iter(self.batch.values()))) if self.batch else 0

    def column(self, name: str) -> np.ndarray:
        return _stack_cells(np.asarray(self.batch[name]), name)

    def is_scalar_numeric(self, name: str) -> bool:
        value = np.asarray(self.batch[name])
        return value.ndim == 1 and value.dtype.kind in "biuf"

    def is_bytes(self, name: str) -> bool:
        return _holds_bytes(np.asarray(self.batch[name]))

    def with_columns(self, new: dict[str, np.ndarray]) -> dict[str, Any]:
        out = dict(self.batch)
        for name, values in new.items():
            if values.dtype == object and values.ndim > 1:
                # Text per row (top_labels): a list per cell, which engines (Ray
                # Data) turn into a list<string> column; numbers stay ndarrays.
                values = _object_rows(values)
            out[name] = values
        return out


class PandasAdapter(Adapter):
    """A pandas DataFrame: list-like cells (arrays, lists) or numeric columns."""

    def names(self) -> list[str]:
        return [str(c) for c in self.batch.columns]

    def rows(self) -> int:
        return len(self.batch)

    def column(self, name: str) -> np.ndarray:
        series = self.batch[name]
        arrow = _arrow_backing(series)
        if arrow is not None:
            return arrow_to_numpy(arrow, name)
        return _stack_cells(series.to_numpy(), name)

    def is_scalar_numeric(self, name: str) -> bool:
        dtype = self.batch[name].dtype
        if hasattr(dtype, "pyarrow_dtype"):
            import pyarrow as pa

            kind = dtype.pyarrow_dtype
            return bool(pa.types.is_integer(kind) or pa.types.is_floating(kind))
        return getattr(dtype, "kind", "O") in "biuf"

    def is_bytes(self, name: str) -> bool:
        series = self.batch[name]
        if hasattr(series.dtype, "pyarrow_dtype"):
            return _is_binary(series.dtype.pyarrow_dtype)
        return _holds_bytes(series.to_numpy())

    def with_columns(self, new: dict[str, np.ndarray]) -> Any:
        import pandas as pd

        out = self.batch.copy(deep=False)
        backed = arrow_backed(self.batch)
        for name, values in new.items():
            if backed:  # pyarrow-backed frame: arrow columns, no object per row
                cells: Any = pd.arrays.ArrowExtensionArray(numpy_to_arrow(values))
                out[name] = pd.Series(cells, index=out.index)
            else:
                dtype = _pandas_dtype(values)
                out[name] = pd.Series(_cells(values), index=out.index, dtype=dtype)
        return out


def arrow_backed(frame: Any) -> bool:
    """Whether a DataFrame uses pyarrow dtypes (``dtype_backend="pyarrow"``): new
    columns then are arrow columns too (a list per row without a Python object)."""
    return any(hasattr(dtype, "pyarrow_dtype") for dtype in frame.dtypes)


class ArrowAdapter(Adapter):
    """A pyarrow Table or RecordBatch: fixed-size (or equal-length) list columns."""

    def names(self) -> list[str]:
        return list(self.batch.schema.names)

    def rows(self) -> int:
        return int(self.batch.num_rows)

    def column(self, name: str) -> np.ndarray:
        return arrow_to_numpy(self.batch.column(name), name)

    def is_scalar_numeric(self, name: str) -> bool:
        import pyarrow as pa

        kind = self.batch.schema.field(name).type
        return bool(pa.types.is_integer(kind) or pa.types.is_floating(kind))

    def is_bytes(self, name: str) -> bool:
        return _is_binary(self.batch.schema.field(name).type)

    def with_columns(self, new: dict[str, np.ndarray]) -> Any:
        out = self.batch
        for name, values in new.items():
            out = out.append_column(name, numpy_to_arrow(values))
        return out


def adapter_for(batch: Any) -> Adapter:
    """The adapter of `batch`'s type, or an error naming the types accepted."""
    if isinstance(batch, Mapping):
        return DictAdapter(batch)
    if "pandas" in sys.modules:
        import pandas as pd

        if isinstance(batch, pd.DataFrame):
            return PandasAdapter(batch)
    if "pyarrow" in sys.modules:
        import pyarrow as pa

        if isinstance(batch, (pa.Table, pa.RecordBatch)):
            return ArrowAdapter(batch)
    raise InputDtypeError(
        "expected a batch as a dict of numpy arrays, a pandas DataFrame or Series, a pyarrow "
        f"Table or RecordBatch, or a numpy array; received {type(batch).__name__}"
    )


# -- numpy cells ----------------------------------------------------------------
def _stack_cells(values: np.ndarray, name: str) -> np.ndarray:
    """An object array of per-row arrays/lists becomes one (rows, ...) array."""
    if values.dtype.kind == "S":  # fixed-width byte strings: their bytes as uint8 rows
        return np.ascontiguousarray(values).view(np.uint8).reshape(len(values), -1)
    if values.dtype != object:
        return values
    if len(values) == 0:
        return np.zeros((0,), np.float32)
    if isinstance(values[0], (bytes, bytearray)):
        return _bytes_rows([bytes(v) for v in values], name)
    try:
        return np.stack([np.asarray(v) for v in values])
    except (ValueError, TypeError) as exc:
        raise InputShapeError(
            f"column '{name}': the rows must hold arrays of one shape ({exc})", name=name
        ) from None


def _holds_bytes(values: np.ndarray) -> bool:
    """Whether a numpy column holds byte strings (fixed-width or Python bytes cells)."""
    if values.dtype.kind == "S":
        return True
    return values.dtype == object and len(values) > 0 and isinstance(values[0], (bytes, bytearray))


def _cells(values: np.ndarray) -> Any:
    """What a pandas column of `values` holds: itself for scalars, a row per cell else."""
    if values.ndim == 1:
        return values
    cells = np.empty(len(values), dtype=object)
    cells[:] = list(values)  # views into one buffer, not copies
    return cells


def _object_rows(values: np.ndarray) -> np.ndarray:
    cells = np.empty(len(values), dtype=object)
    cells[:] = [row.tolist() for row in values]
    return cells


def _pandas_dtype(values: np.ndarray) -> Any:
    if values.ndim > 1 or values.dtype.kind in "OUS":
        return object
    return values.dtype


def _arrow_backing(series: Any) -> Any:
    """The pyarrow array behind an ArrowDtype list column, else None."""
    if not hasattr(series.dtype, "pyarrow_dtype"):
        return None
    import pyarrow as pa

    kind = series.dtype.pyarrow_dtype
    if _is_list(kind) or _is_binary(kind):
        return pa.array(series)
    return None


# -- arrow <-> numpy --------------------------------------------------------------
def arrow_to_numpy(column: Any, name: str) -> np.ndarray:
    """A pyarrow column (nested fixed-size or equal-length lists of numbers, or
    numbers) as a numpy array (rows, d1, d2, ...)."""
    import pyarrow as pa

    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    if column.null_count:
        raise InputValueError(
            f"column '{name}' has {column.null_count} null row(s); fill or drop them first",
            name=name,
        )
    if _is_binary(column.type):
        return _binary_to_numpy(column, name)
    shape = [len(column)]
    values = column
    while _is_list(values.type):
        size = _list_size(values, name)
        shape.append(size)
        values = _list_values(values, size)
        if values.null_count:
            raise InputValueError(f"column '{name}' holds null values", name=name)
    if not (pa.types.is_integer(values.type) or pa.types.is_floating(values.type)):
        raise InputDtypeError(
            f"column '{name}': expected numbers (or lists of numbers), received {column.type}",
            name=name,
        )
    return _primitive_to_numpy(values).reshape(shape)


def _list_values(array: Any, size: int) -> Any:
    """The values of the rows of a list array, as a zero-copy slice of its child
    (``flatten()`` walks validity bitmaps and costs ~10x more)."""
    import pyarrow as pa

    if pa.types.is_fixed_size_list(array.type):
        return array.values.slice(array.offset * size, len(array) * size)
    if len(array) == 0:
        return array.values.slice(0, 0)
    first = array.offsets[0].as_py()
    return array.values.slice(first, len(array) * size)


def _primitive_to_numpy(values: Any) -> np.ndarray:
    """A null-free numeric array as numpy without a copy: a validity bitmap with
    no nulls (parquet's reader leaves one on list values) is dropped first."""
    import pyarrow as pa

    buffers = values.buffers()
    if buffers[0] is not None and not pa.types.is_boolean(values.type):
        values = pa.Array.from_buffers(
            values.type, len(values), [None, buffers[1]], 0, values.offset
        )
    return values.to_numpy(zero_copy_only=False)


def _bytes_rows(cells: list[bytes], name: str) -> np.ndarray:
    """Byte strings of one length as uint8 rows (rows, length)."""
    lengths = {len(cell) for cell in cells}
    if len(lengths) != 1:
        raise InputShapeError(
            f"column '{name}': rows hold byte strings of different lengths "
            f"({min(lengths)} to {max(lengths)})",
            name=name,
        )
    return np.frombuffer(b"".join(cells), np.uint8).reshape(len(cells), lengths.pop())


def _is_binary(kind: Any) -> bool:
    import pyarrow as pa

    return bool(
        pa.types.is_fixed_size_binary(kind)
        or pa.types.is_binary(kind)
        or pa.types.is_large_binary(kind)
    )


def _binary_to_numpy(column: Any, name: str) -> np.ndarray:
    """A binary column (raw bytes per row, all of one length) as uint8 rows
    (rows, length), without a copy: parquet decodes it ~10x faster than a list
    of uint8 (no repetition or definition level per value)."""
    import pyarrow as pa

    rows = len(column)
    if pa.types.is_fixed_size_binary(column.type):
        width = int(column.type.byte_width)
        start = column.offset * width
    elif rows == 0:
        return np.zeros((0, 0), np.uint8)
    else:
        offset_type = np.int64 if pa.types.is_large_binary(column.type) else np.int32
        offsets = np.frombuffer(column.buffers()[1], offset_type)[
            column.offset : column.offset + rows + 1
        ]
        lengths = np.diff(offsets)
        if lengths.min() != lengths.max():
            raise InputShapeError(
                f"column '{name}': rows hold byte strings of different lengths "
                f"({int(lengths.min())} to {int(lengths.max())})",
                name=name,
            )
        width, start = int(lengths[0]), int(offsets[0])
    data = column.buffers()[-1]
    if data is None or rows * width == 0:
        return np.zeros((rows, width), np.uint8)
    return np.frombuffer(data, np.uint8, count=rows * width, offset=start).reshape(rows, width)


def _is_list(kind: Any) -> bool:
    import pyarrow as pa

    return bool(
        pa.types.is_fixed_size_list(kind) or pa.types.is_list(kind) or pa.types.is_large_list(kind)
    )


def _list_size(array: Any, name: str) -> int:
    """The one length every row's list has (variable lists must agree)."""
    import pyarrow as pa

    if pa.types.is_fixed_size_list(array.type):
        return int(array.type.list_size)
    if len(array) == 0:
        return 0
    lengths = np.diff(np.asarray(array.offsets))
    if lengths.min() != lengths.max():
        raise InputShapeError(
            f"column '{name}': rows hold lists of different lengths "
            f"({int(lengths.min())} to {int(lengths.max())})",
            name=name,
        )
    return int(lengths[0])


def numpy_to_arrow(values: np.ndarray) -> Any:
    """(rows,) -> a plain column; (rows, d1, ...) -> nested fixed-size lists."""
    import pyarrow as pa

    values = np.ascontiguousarray(values)
    column = pa.array(values.reshape(-1))
    for size in reversed(values.shape[1:]):
        column = pa.FixedSizeListArray.from_arrays(column, int(size))
    return column


def arrow_type(row_shape: tuple[int, ...], dtype: Any) -> Any:
    """The pyarrow type numpy_to_arrow gives for rows of `row_shape` and `dtype`."""
    import pyarrow as pa

    kind = pa.string() if np.dtype(dtype).kind in "OU" else pa.from_numpy_dtype(np.dtype(dtype))
    for size in reversed(row_shape):
        kind = pa.list_(kind, int(size))
    return kind
