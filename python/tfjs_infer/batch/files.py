"""Streaming readers and writers of parquet, CSV and JSON Lines files.

Readers hand out pyarrow RecordBatches of at most a given number of rows,
reading only the columns asked for; writers take RecordBatches and append
them to the file, so a file of any size goes through in bounded memory.
Parquet and CSV go through pyarrow's own streaming readers and writers (the
``parquet`` extra); JSON Lines are parsed and written line by line.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputValueError, MissingDependencyError

PARQUET = (".parquet", ".pq")
CSV = (".csv",)
JSONL = (".jsonl", ".ndjson")
SUFFIXES = PARQUET + CSV + JSONL
_FLAT_CELL = re.compile(r"^(.+)\[(\d+)\]$")  # a CSV column "name[i]": element i of a list


def pyarrow() -> Any:
    """pyarrow, or an error saying which extra installs it."""
    try:
        import pyarrow as pa
    except ImportError:
        raise MissingDependencyError(
            "reading and writing parquet, CSV and JSON Lines tables needs pyarrow: "
            "pip install 'tfjs-infer[parquet]'"
        ) from None
    return pa


def kind_of(path: Path) -> str | None:
    """ "parquet", "csv", "jsonl" by suffix, or None."""
    suffix = path.suffix.lower()
    for kind, suffixes in (("parquet", PARQUET), ("csv", CSV), ("jsonl", JSONL)):
        if suffix in suffixes:
            return kind
    return None


# -- readers -------------------------------------------------------------------------
class Reader:
    """A table file read in chunks: its schema, and batches of chosen columns."""

    total: int  # progress units in the file (rows, or bytes where rows are unknown)

    def schema(self) -> Any:
        raise NotImplementedError

    def batches(self, columns: list[str], rows: int) -> Iterator[tuple[Any, int]]:
        """(RecordBatch of `columns`, progress units done) per chunk of <= `rows` rows."""
        raise NotImplementedError


class ParquetReader(Reader):
    def __init__(self, path: Path) -> None:
        pyarrow()
        import pyarrow.parquet as pq

        # Buffered, not pre-buffered: a column chunk is read page by page, so a
        # row group bigger than the memory budget still streams.
        self.file = pq.ParquetFile(path, buffer_size=1 << 20, pre_buffer=False)
        self.total = int(self.file.metadata.num_rows)

    def schema(self) -> Any:
        return self.file.schema_arrow

    def batches(self, columns: list[str], rows: int) -> Iterator[tuple[Any, int]]:
        done = 0
        for batch in self.file.iter_batches(batch_size=rows, columns=columns, use_threads=True):
            done += batch.num_rows
            yield batch, done


class CsvReader(Reader):
    """CSV with a header row; columns "name[0]", "name[1]"... fold into a list column."""

    def __init__(self, path: Path, block_bytes: int) -> None:
        self.path = path
        self.total = path.stat().st_size
        self.block_bytes = max(1 << 16, block_bytes)
        self._schema: Any = None

    def _open(self, columns: list[str] | None) -> tuple[Any, Any]:
        pa = pyarrow()
        import pyarrow.csv as pcsv

        raw = open(self.path, "rb")  # noqa: SIM115 - closed by the caller
        try:
            reader = pcsv.open_csv(
                raw,
                read_options=pcsv.ReadOptions(block_size=self.block_bytes),
                convert_options=pcsv.ConvertOptions(include_columns=columns),
            )
        except pa.ArrowInvalid as exc:
            raw.close()
            raise InputValueError(f"{self.path}: not a CSV table with a header ({exc})") from None
        return raw, reader

    def schema(self) -> Any:
        if self._schema is None:
            raw, reader = self._open(None)
            raw.close()
            self._schema = _fold_schema(reader.schema)
        return self._schema

    def batches(self, columns: list[str], rows: int) -> Iterator[tuple[Any, int]]:
        flat = [c.name for c in self._raw_fields(columns)]
        raw, reader = self._open(flat)
        with raw:
            for batch in reader:
                for start in range(0, batch.num_rows, rows):
                    part = _fold_lists(batch.slice(start, rows))
                    yield part.select(columns), raw.tell()

    def _raw_fields(self, columns: list[str]) -> list[Any]:
        raw, reader = self._open(None)
        raw.close()
        wanted = set(columns)
        return [f for f in reader.schema if f.name in wanted or _base(f.name) in wanted]


class JsonlReader(Reader):
    """One JSON object per line; lists become list columns."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.total = path.stat().st_size
        self._schema: Any = None

    def schema(self) -> Any:
        if self._schema is None:
            with open(self.path, "rb") as f:
                first = next((line for line in f if line.strip()), b"{}")
            self._schema = _rows_to_batch([_parse(first, self.path, 1)], None).schema
        return self._schema

    def batches(self, columns: list[str], rows: int) -> Iterator[tuple[Any, int]]:
        chunk: list[dict[str, Any]] = []
        with open(self.path, "rb") as f:
            for number, line in enumerate(f, start=1):
                if line.strip():
                    chunk.append(_parse(line, self.path, number))
                if len(chunk) >= rows:
                    yield _rows_to_batch(chunk, columns), f.tell()
                    chunk = []
            if chunk:
                yield _rows_to_batch(chunk, columns), f.tell()


def open_reader(path: Path, budget_bytes: int) -> Reader:
    """The reader for `path`'s suffix."""
    kind = kind_of(path)
    if kind == "parquet":
        return ParquetReader(path)
    if kind == "csv":
        return CsvReader(path, budget_bytes // 8)
    return JsonlReader(path)


def _parse(line: bytes, path: Path, number: int) -> dict[str, Any]:
    try:
        row = json.loads(line)
    except ValueError as exc:
        raise InputValueError(f"{path}:{number}: not JSON ({exc})") from None
    if not isinstance(row, dict):
        raise InputValueError(f"{path}:{number}: expected a JSON object per line")
    return row


def _rows_to_batch(rows: list[dict[str, Any]], columns: list[str] | None) -> Any:
    pa = pyarrow()
    names = columns if columns is not None else list(rows[0])
    arrays = []
    for name in names:
        try:
            arrays.append(pa.array([row[name] for row in rows]))
        except KeyError:
            raise InputValueError(f"a JSON Lines row lacks the column '{name}'") from None
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise InputValueError(f"column '{name}': values of mixed types ({exc})") from None
    return pa.RecordBatch.from_arrays(arrays, names=names)


def _base(name: str) -> str | None:
    match = _FLAT_CELL.match(name)
    return match.group(1) if match else None


def _fold_schema(schema: Any) -> Any:
    pa = pyarrow()
    empty = pa.RecordBatch.from_arrays(
        [pa.array([], type=f.type) for f in schema], names=schema.names
    )
    return _fold_lists(empty).schema


def _fold_lists(batch: Any) -> Any:
    """Columns "x[0]", "x[1]", ... "x[k-1]" become one fixed-size list column "x"."""
    pa = pyarrow()
    groups: dict[str, list[int]] = {}
    for i, name in enumerate(batch.schema.names):
        base = _base(name)
        if base is not None:
            groups.setdefault(base, []).append(i)
    if not groups:
        return batch
    names, arrays, done = [], [], set()
    for i, name in enumerate(batch.schema.names):
        base = _base(name)
        if base is None:
            names.append(name)
            arrays.append(batch.column(i))
        elif base not in done:
            done.add(base)
            cols = [batch.column(j).to_numpy(zero_copy_only=False) for j in groups[base]]
            values = np.column_stack(cols) if cols else np.zeros((batch.num_rows, 0))
            arrays.append(pa.FixedSizeListArray.from_arrays(pa.array(values.ravel()), len(cols)))
            names.append(base)
    return pa.RecordBatch.from_arrays(arrays, names=names)


# -- writers --------------------------------------------------------------------------
class Writer:
    """Appends RecordBatches to a table file; ``close()`` finishes it."""

    def write(self, batch: Any) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class ParquetWriter(Writer):
    def __init__(self, path: Path) -> None:
        pyarrow()
        self.path = path
        self.writer: Any = None

    def write(self, batch: Any) -> None:
        import pyarrow.parquet as pq

        if self.writer is None:
            # Dictionaries only for text: on float lists they cost ~5x the write
            # time and save nothing. Statistics only for columns of one value per
            # row (ids): min/max of list or bytes cells serve no filter (skipping
            # every column's saved 0.03-0.04 of 0.19 CPU s per 1M digits rows in
            # bench/batch_layouts.py; ids' alone are within that run's noise).
            text = [f.name for f in batch.schema if _is_text(f.type)]
            flat = [f.name for f in batch.schema if not _is_nested(f.type)]
            self.writer = pq.ParquetWriter(
                self.path, batch.schema, use_dictionary=text, write_statistics=flat
            )
        self.writer.write_batch(batch)  # one row group per batch: nothing piles up

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


class CsvWriter(Writer):
    """List columns become "name[0]", "name[1]"... (row-major for nested lists)."""

    def __init__(self, path: Path) -> None:
        pyarrow()
        self.path = path
        self.writer: Any = None

    def write(self, batch: Any) -> None:
        import pyarrow.csv as pcsv

        flat = _flatten_lists(batch)
        if self.writer is None:
            self.writer = pcsv.CSVWriter(self.path, flat.schema)
        self.writer.write_batch(flat)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


class JsonlWriter(Writer):
    def __init__(self, path: Path) -> None:
        self.file = open(path, "w", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def write(self, batch: Any) -> None:
        buffer = io.StringIO()
        for row in batch.to_pylist():
            buffer.write(json.dumps(row, separators=(",", ":")))
            buffer.write("\n")
        self.file.write(buffer.getvalue())

    def close(self) -> None:
        self.file.close()


def open_writer(path: Path) -> Writer:
    """The writer for `path`'s suffix."""
    kind = kind_of(path)
    if kind == "parquet":
        return ParquetWriter(path)
    if kind == "csv":
        return CsvWriter(path)
    return JsonlWriter(path)


def _flatten_lists(batch: Any) -> Any:
    pa = pyarrow()
    from .columns import arrow_to_numpy

    names, arrays = [], []
    for name, column in zip(batch.schema.names, batch.columns):
        kind = column.type
        if not (pa.types.is_fixed_size_list(kind) or pa.types.is_list(kind)):
            names.append(name)
            arrays.append(column)
            continue
        values = _list_values(column, name, arrow_to_numpy)
        flat = values.reshape(len(values), -1)
        for i in range(flat.shape[1]):
            names.append(f"{name}[{i}]")
            arrays.append(pa.array(flat[:, i]))
    return pa.RecordBatch.from_arrays(arrays, names=names)


def _is_nested(kind: Any) -> bool:
    """Lists and byte strings: values with no useful min/max per row group."""
    pa = pyarrow()
    return bool(
        pa.types.is_fixed_size_list(kind)
        or pa.types.is_list(kind)
        or pa.types.is_large_list(kind)
        or pa.types.is_binary(kind)
        or pa.types.is_fixed_size_binary(kind)
        or pa.types.is_large_binary(kind)
    )


def _is_text(kind: Any) -> bool:
    pa = pyarrow()
    while pa.types.is_fixed_size_list(kind) or pa.types.is_list(kind):
        kind = kind.value_type
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def _list_values(column: Any, name: str, to_numpy: Any) -> np.ndarray:
    """A list column's values as (rows, ...): numbers via numpy, text as objects."""
    pa = pyarrow()
    leaf = column.type
    while pa.types.is_fixed_size_list(leaf) or pa.types.is_list(leaf):
        leaf = leaf.value_type
    if pa.types.is_string(leaf) or pa.types.is_large_string(leaf):
        return np.array(column.to_pylist(), dtype=object)
    return to_numpy(column, name)
