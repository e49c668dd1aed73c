"""What reading a 64-feature table and writing its predictions costs, per parquet layout.

    python bench/batch_layouts.py [--rows 1000000] [--rounds 3] [--only read|write]

The digits MLP costs ~0.3 us of CPU a row, so for it a parquet-to-parquet run is
mostly the file. This measures, without the model, the CPU seconds (this process,
every thread) of

- reading `--rows` rows of 64 random float32 features into one (rows, 64) float32
  array, per layout a user could write: a fixed-size list<float32> column (as the
  CLI's input column), each row's 256 float32 bytes in a fixed-size binary column (the
  bytes of the input's dtype, read as a view), 64 float32 feature columns
  (``feature_columns``, gathered into a preallocated array or by ``np.column_stack``), nullable or
  not (non-nullable columns have no definition levels); compression none, snappy,
  zstd; dictionaries on (pyarrow's default) or off; BYTE_STREAM_SPLIT; row groups of
  64k or 1M rows; and the reader's options (threads, pre-buffering, memory map, the
  batch size of ``iter_batches``);
- writing the predictions (an int64 id and 10 float32 per row) per writer layout
  and option: a fixed-size list<float32> column, 40 raw bytes per row, or 10
  columns; compression, statistics.

Each figure is the median of `--rounds` runs, interleaved, beside the model's own
CPU time on the same rows (``Model.predict`` in memory). The ratio a parquet-to-parquet
path could reach at best is model / (model + read + write).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import header

import tfjs_infer as ti

WIDTH, OUT = 64, 10


def list_table(x: np.ndarray, nullable: bool = True) -> pa.Table:
    values = pa.array(x.reshape(-1))
    column = pa.FixedSizeListArray.from_arrays(values, WIDTH)
    kind = pa.list_(pa.field("item", pa.float32(), nullable=nullable), WIDTH)
    schema = pa.schema(
        [pa.field("id", pa.int64(), nullable=nullable), pa.field("dense_input", kind, nullable)]
    )
    ids = pa.array(np.arange(len(x), dtype=np.int64))
    return pa.Table.from_arrays([ids, column.cast(kind)], schema=schema)


def bytes_table(x: np.ndarray, nullable: bool = True) -> pa.Table:
    """Each row's 64 float32 as 256 raw bytes (a fixed-size binary column)."""
    kind = pa.binary(WIDTH * 4)
    cells = pa.FixedSizeBinaryArray.from_buffers(kind, len(x), [None, pa.py_buffer(x)])
    schema = pa.schema(
        [pa.field("id", pa.int64(), nullable=nullable), pa.field("dense_input", kind, nullable)]
    )
    return pa.Table.from_arrays([pa.array(np.arange(len(x), dtype=np.int64)), cells], schema=schema)


def wide_table(x: np.ndarray, nullable: bool = True) -> pa.Table:
    fields = [pa.field("id", pa.int64(), nullable=nullable)]
    fields += [pa.field(f"f{i}", pa.float32(), nullable=nullable) for i in range(WIDTH)]
    arrays = [pa.array(np.arange(len(x), dtype=np.int64))]
    arrays += [pa.array(np.ascontiguousarray(x[:, i])) for i in range(WIDTH)]
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def read_list(path: Path, batch: int, **options: Any) -> np.ndarray:
    from tfjs_infer.batch.columns import arrow_to_numpy

    file = pq.ParquetFile(path, **options.pop("open", {}))
    parts = []
    for b in file.iter_batches(batch_size=batch, columns=["dense_input"], **options):
        parts.append(arrow_to_numpy(b.column(0), "dense_input"))
    return parts[-1]


def read_bytes(path: Path, batch: int, **options: Any) -> np.ndarray:
    """As the predictor reads a binary column of a float32 input: a view, no copy."""
    import tfjs_infer.batch.predictor as predictor
    from tfjs_infer.batch.columns import arrow_to_numpy

    file = pq.ParquetFile(path, **options.pop("open", {}))
    last = None
    for b in file.iter_batches(batch_size=batch, columns=["dense_input"], **options):
        rows = arrow_to_numpy(b.column(0), "dense_input")
        last = predictor._bytes_as(rows, (None, WIDTH), np.dtype(np.float32))
    return last


def read_wide(path: Path, batch: int, **options: Any) -> np.ndarray:
    file = pq.ParquetFile(path, **options.pop("open", {}))
    names = [f"f{i}" for i in range(WIDTH)]
    last = None
    for b in file.iter_batches(batch_size=batch, columns=names, **options):
        out = np.empty((b.num_rows, WIDTH), np.float32)  # preallocated, filled per column
        for i, column in enumerate(b.columns):
            out[:, i] = column.to_numpy()
        last = out
    return last


def read_wide_stack(path: Path, batch: int) -> np.ndarray:
    file = pq.ParquetFile(path)
    names = [f"f{i}" for i in range(WIDTH)]
    last = None
    for b in file.iter_batches(batch_size=batch, columns=names):
        last = np.column_stack([c.to_numpy() for c in b.columns])
    return last


def write_list(path: Path, ids: np.ndarray, y: np.ndarray, **options: Any) -> None:
    from tfjs_infer.batch.columns import numpy_to_arrow

    writer = None
    for start in range(0, len(y), 65536):
        part = y[start : start + 65536]
        batch = pa.record_batch(
            [pa.array(ids[start : start + 65536]), numpy_to_arrow(part)], names=["id", "probs"]
        )
        if writer is None:
            writer = pq.ParquetWriter(path, batch.schema, **options)
        writer.write_batch(batch)
    writer.close()


def write_wide(path: Path, ids: np.ndarray, y: np.ndarray, **options: Any) -> None:
    writer = None
    for start in range(0, len(y), 65536):
        part = y[start : start + 65536]
        arrays = [pa.array(ids[start : start + 65536])]
        arrays += [pa.array(np.ascontiguousarray(part[:, i])) for i in range(OUT)]
        batch = pa.record_batch(arrays, names=["id", *[f"probs[{i}]" for i in range(OUT)]])
        if writer is None:
            writer = pq.ParquetWriter(path, batch.schema, **options)
        writer.write_batch(batch)
    writer.close()


def write_bytes(path: Path, ids: np.ndarray, y: np.ndarray, **options: Any) -> None:
    writer = None
    kind = pa.binary(OUT * 4)
    for start in range(0, len(y), 65536):
        part = np.ascontiguousarray(y[start : start + 65536])
        cells = pa.FixedSizeBinaryArray.from_buffers(kind, len(part), [None, pa.py_buffer(part)])
        batch = pa.record_batch(
            [pa.array(ids[start : start + 65536]), cells], names=["id", "probs"]
        )
        if writer is None:
            writer = pq.ParquetWriter(path, batch.schema, **options)
        writer.write_batch(batch)
    writer.close()


def cpu(fn: Callable[[], Any]) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def read_cases(x: np.ndarray, folder: Path) -> dict[str, Callable[[], Any]]:
    """Files written once per layout; a reading callable per (layout, reader option)."""
    files = {
        "list snappy dict(default)": (list_table(x), {}),
        "list none nodict": (list_table(x), {"compression": "none", "use_dictionary": False}),
        "list none nodict required": (
            list_table(x, nullable=False),
            {"compression": "none", "use_dictionary": False},
        ),
        "bytes snappy dict(default)": (bytes_table(x), {}),
        "bytes none nodict": (bytes_table(x), {"compression": "none", "use_dictionary": False}),
        "bytes none nodict required": (
            bytes_table(x, nullable=False),
            {"compression": "none", "use_dictionary": False},
        ),
        "bytes zstd nodict required": (
            bytes_table(x, nullable=False),
            {"compression": "zstd", "use_dictionary": False},
        ),
        "wide snappy dict(default)": (wide_table(x), {}),
        "wide snappy nodict": (wide_table(x), {"use_dictionary": False}),
        "wide zstd nodict": (wide_table(x), {"compression": "zstd", "use_dictionary": False}),
        "wide none nodict": (wide_table(x), {"compression": "none", "use_dictionary": False}),
        "wide none nodict required": (
            wide_table(x, nullable=False),
            {"compression": "none", "use_dictionary": False},
        ),
        "wide none byte_stream_split": (
            wide_table(x),
            {"compression": "none", "use_dictionary": False, "use_byte_stream_split": True},
        ),
        "wide zstd byte_stream_split": (
            wide_table(x),
            {"compression": "zstd", "use_dictionary": False, "use_byte_stream_split": True},
        ),
        "wide none nodict rg1M": (
            wide_table(x),
            {"compression": "none", "use_dictionary": False, "row_group_size": 1 << 20},
        ),
    }
    cases: dict[str, Callable[[], Any]] = {}
    for name, (table, options) in files.items():
        path = folder / (name.replace(" ", "_").replace("(", "").replace(")", "") + ".parquet")
        options.setdefault("row_group_size", 65536)
        pq.write_table(table, path, **options)
        size = path.stat().st_size / 1e6
        if name.startswith("list"):
            cases[f"{name} [{size:.0f} MB]"] = lambda p=path: read_list(p, 65536)
        elif name.startswith("bytes"):
            cases[f"{name} [{size:.0f} MB]"] = lambda p=path: read_bytes(p, 65536)
        else:
            cases[f"{name} [{size:.0f} MB]"] = lambda p=path: read_wide(p, 65536)
    bytes_plain = folder / "bytes_none_nodict_required.parquet"
    cases["bytes none nodict required, memory_map"] = lambda: read_bytes(
        bytes_plain, 65536, open={"memory_map": True}
    )
    list_plain = folder / "list_none_nodict.parquet"
    wide_plain = folder / "wide_none_nodict.parquet"
    cases["list none nodict, 1 thread"] = lambda: read_list(list_plain, 65536, use_threads=False)
    cases["list none nodict, pre_buffer"] = lambda: read_list(
        list_plain, 65536, open={"pre_buffer": True}
    )
    cases["list none nodict, memory_map"] = lambda: read_list(
        list_plain, 65536, open={"memory_map": True}
    )
    cases["list none nodict, batch 8192"] = lambda: read_list(list_plain, 8192)
    cases["wide none nodict, 1 thread"] = lambda: read_wide(wide_plain, 65536, use_threads=False)
    cases["wide none nodict, pre_buffer"] = lambda: read_wide(
        wide_plain, 65536, open={"pre_buffer": True}
    )
    cases["wide none nodict, memory_map"] = lambda: read_wide(
        wide_plain, 65536, open={"memory_map": True}
    )
    cases["wide none nodict, batch 8192"] = lambda: read_wide(wide_plain, 8192)
    cases["wide none nodict, column_stack"] = lambda: read_wide_stack(wide_plain, 65536)
    return cases


def write_cases(rows: int, folder: Path) -> dict[str, Callable[[], Any]]:
    rng = np.random.default_rng(1)
    y = rng.random((rows, OUT), dtype=np.float32)
    ids = np.arange(rows, dtype=np.int64)
    out = folder / "out.parquet"
    return {
        "list snappy dict(default)": lambda: write_list(out, ids, y),
        "list snappy nodict (CLI before)": lambda: write_list(out, ids, y, use_dictionary=False),
        "list none nodict": lambda: write_list(
            out, ids, y, use_dictionary=False, compression="none"
        ),
        "list none nodict nostats": lambda: write_list(
            out, ids, y, use_dictionary=False, compression="none", write_statistics=False
        ),
        "list snappy nodict, stats on id only (CLI)": lambda: write_list(
            out, ids, y, use_dictionary=False, write_statistics=["id"]
        ),
        "bytes snappy nodict": lambda: write_bytes(out, ids, y, use_dictionary=False),
        "bytes none nodict nostats": lambda: write_bytes(
            out, ids, y, use_dictionary=False, compression="none", write_statistics=False
        ),
        "wide snappy nodict": lambda: write_wide(out, ids, y, use_dictionary=False),
        "wide none nodict": lambda: write_wide(
            out, ids, y, use_dictionary=False, compression="none"
        ),
        "wide none nodict nostats": lambda: write_wide(
            out, ids, y, use_dictionary=False, compression="none", write_statistics=False
        ),
    }


def median_cpu(cases: dict[str, Callable[[], Any]], rounds: int) -> dict[str, float]:
    seconds: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):  # interleaved: each round runs every case once
        for name, fn in cases.items():
            seconds[name].append(cpu(fn))
    return {name: statistics.median(s) for name, s in seconds.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=["read", "write"], default=None)
    args = parser.parse_args()
    header()
    print(f"load average at the start: {os.getloadavg()[0]:.2f}")
    x = np.random.default_rng(0).random((args.rows, WIDTH), dtype=np.float32)
    model = ti.load_model(ti.examples.digits_path())
    model_cpu = statistics.median(cpu(lambda: model.predict(x)) for _ in range(args.rounds))
    print(f"model (in-process predict): {model_cpu:.3f} CPU s for {args.rows} rows")
    with tempfile.TemporaryDirectory(prefix="tfjs-infer-layouts-") as tmp:
        folder = Path(tmp)
        if args.only != "write":
            print("\nreading into a (rows, 64) float32 array: CPU s")
            for name, seconds in median_cpu(read_cases(x, folder), args.rounds).items():
                print(f"  {name:48s} {seconds:7.3f}")
        if args.only != "read":
            print("\nwriting id + 10 float32 per row: CPU s")
            for name, seconds in median_cpu(write_cases(args.rows, folder), args.rounds).items():
                print(f"  {name:48s} {seconds:7.3f}")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
