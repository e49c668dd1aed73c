"""``tfjs-infer predict MODEL data.parquet --out preds.parquet``: table files
streamed through the model in chunks sized by a memory budget.

The input table has a column per model input, named as the input (a list
per row), or, for a model with one 1-D input, numeric feature columns. The
output table has the ``--keep`` columns, then a column per model output
named after it, then ``top_labels``/``top_scores`` with ``--top-k``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from .._cli_inputs import read_labels_file
from .._progress import Progress
from ..errors import InputShapeError, InputValueError
from ..model import Model
from . import files
from .pipeline import WriteBehind, read_ahead
from .predictor import BatchPredictor

_SAFETY = 12  # bytes in flight per estimated byte of a row: the parquet reader holds
# values, repetition and definition levels and allocator slack (~8x), plus arrays and outputs
_IN_FLIGHT = 2  # chunks held at once: the one scored and the next, read ahead (pipeline.py)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The predict subcommand's options for table files."""
    p.add_argument(
        "--keep",
        action="append",
        default=[],
        metavar="COLUMN",
        help="table input: carry COLUMN (an id) into the output table (repeatable)",
    )
    p.add_argument(
        "--feature-columns",
        default=None,
        metavar="A,B,...",
        help="table input: the numeric columns that form a 1-D input, in order",
    )
    # --memory-budget (shared with predict's automatic batch size) bounds the rows
    # in flight here: a table's chunks are sized to fit it.


def wants_tables(args: argparse.Namespace) -> bool:
    """Whether this predict call reads or writes a table file (parquet, CSV, JSON Lines)."""
    source = Path(args.inputs[0]) if len(args.inputs) == 1 else None
    out = Path(args.out) if args.out else None
    table_in = source is not None and files.kind_of(source) in ("parquet", "jsonl")
    table_out = out is not None and files.kind_of(out) in ("parquet", "jsonl")
    csv_both = (
        source is not None
        and out is not None
        and files.kind_of(source) == "csv" == files.kind_of(out)
    )
    return table_in or table_out or csv_both or bool(args.keep)


def run(args: argparse.Namespace, model: Model) -> int:
    """Stream the table file through `model`; write the output table."""
    if len(args.inputs) != 1 or files.kind_of(Path(args.inputs[0])) is None:
        raise InputValueError(
            "table mode (parquet, CSV, JSON Lines, --keep) takes one input table file, "
            f"received {args.inputs}"
        )
    if not args.out or files.kind_of(Path(args.out)) is None:
        raise InputValueError("give --out FILE.parquet, .csv or .jsonl for a table input")
    source, target = Path(args.inputs[0]), Path(args.out)
    args.keep = list(dict.fromkeys(args.keep))
    if not source.is_file():
        raise InputValueError(f"{source}: no such file")
    budget = _budget(args.memory_budget)
    reader = files.open_reader(source, budget)
    schema = reader.schema()
    predictor = _predictor(args, model, schema)
    columns = _columns_to_read(predictor, model, schema, args.keep)
    rows = _chunk_rows(predictor, model, schema, columns, budget)
    if args.progress != "auto":
        os.environ["TFJS_INFER_PROGRESS"] = args.progress
    progress = Progress(reader.total, 1)
    # The next chunk is read and the last one written on threads while this one is
    # scored (pipeline.py): decoding and encoding use one core each, the model all.
    writer = WriteBehind(files.open_writer(target))
    chunks = read_ahead(reader.batches(columns, rows))
    memory = _MemoryGuard(budget)
    start, cpu_start, done = time.perf_counter(), time.process_time(), 0
    try:
        for batch, position in chunks:
            new = predictor.predict_columns(_adapter(batch))
            kept = batch.select(args.keep)
            writer.write(_append(kept, new))
            done += batch.num_rows
            progress.update(position)
            memory.check()
    finally:
        chunks.close()
        writer.close()
    progress.close()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    # Streaming only (after start-up and loading): rows/s and CPU s of every thread.
    print(
        f"wrote {target} ({done} rows in chunks of up to {rows}, "
        f"{done / max(elapsed, 1e-9):,.0f} rows/s, {cpu:.2f} CPU s)",
        file=sys.stderr,
    )
    return 0


def _budget(text: str | None) -> int:
    """Bytes the rows in flight may use: --memory-budget, else the environment's
    TFJS_INFER_MEMORY_BUDGET, else 256 MiB (as for predict's batch size)."""
    from .._batching import budget_from_env, parse_memory_budget

    return budget_from_env() if text is None else parse_memory_budget(text, "--memory-budget")


def _predictor(args: argparse.Namespace, model: Model, schema: Any) -> BatchPredictor:
    top = args.top_k or (1 if (args.labels or args.labels_file) else None)
    labels = None
    if args.labels_file:
        labels = read_labels_file(args.labels_file)
    outputs = None
    if args.output is not None:
        names = [t.name for t in model.outputs]
        outputs = [names[args.output] if isinstance(args.output, int) else args.output]
    features = None
    if args.feature_columns:
        features = [c.strip() for c in args.feature_columns.split(",") if c.strip()]
    elif not all(t.name in schema.names for t in model.inputs):
        features = [n for n in schema.names if n not in args.keep and _numeric(schema, n)]
    return BatchPredictor(
        model, outputs=outputs, top_k=top, feature_columns=features, labels=labels
    )


def _numeric(schema: Any, name: str) -> bool:
    import pyarrow as pa

    kind = schema.field(name).type
    return bool(pa.types.is_integer(kind) or pa.types.is_floating(kind))


def _columns_to_read(
    predictor: BatchPredictor, model: Model, schema: Any, keep: list[str]
) -> list[str]:
    present = schema.names
    missing = [k for k in keep if k not in present]
    if missing:
        raise InputValueError(f"--keep {missing}: no such column; the table has {present}")
    if all(t.name in present for t in model.inputs):
        wanted = [t.name for t in model.inputs]
    else:
        wanted = predictor.feature_columns or []
        absent = [c for c in wanted if c not in present]
        if absent or len(model.inputs) != 1 or not wanted:
            raise InputShapeError(
                f"the table needs a column per model input {[t.name for t in model.inputs]}"
                + (
                    ", or numeric feature columns for its one 1-D input"
                    if len(model.inputs) == 1
                    else ""
                )
                + f"; it has columns {present}"
            )
    return list(dict.fromkeys([*wanted, *keep]))


def _chunk_rows(
    predictor: BatchPredictor, model: Model, schema: Any, columns: list[str], budget: int
) -> int:
    """Rows per chunk so that `_SAFETY` copies of `_IN_FLIGHT` chunks fit the budget."""
    per_row = 0
    for t in model.inputs:
        dims = list(t.shape[1:])
        if all(d is not None for d in dims):
            per_row += int(np.prod(dims, dtype=np.int64)) * _value_bytes(schema, t.name)
    per_row += 8 * sum(1 for c in columns if c not in {t.name for t in model.inputs})
    for _, row_shape, _ in predictor.output_columns():
        per_row += int(np.prod(row_shape, dtype=np.int64)) * 8 + 16
    return int(min(1 << 20, max(1, budget // (_IN_FLIGHT * _SAFETY * max(per_row, 1)))))


def _value_bytes(schema: Any, name: str) -> int:
    """Bytes one value of column `name` costs while read: its width plus 4 for the
    repetition and definition levels (int16 each) of a list value; 1 for a binary
    column (raw bytes, no levels); 8 when the column is absent (feature columns)."""
    import pyarrow as pa

    if name not in schema.names:
        return 8
    kind = schema.field(name).type
    if pa.types.is_fixed_size_binary(kind) or pa.types.is_binary(kind):
        return 1
    while hasattr(kind, "value_type"):  # list, large list, fixed-size list
        kind = kind.value_type
    width = kind.bit_width // 8 if pa.types.is_integer(kind) or pa.types.is_floating(kind) else 4
    return width + 4


def _adapter(batch: Any) -> Any:
    from .columns import ArrowAdapter

    return ArrowAdapter(batch)


def _append(batch: Any, new: dict[str, np.ndarray]) -> Any:
    from .columns import ArrowAdapter

    return ArrowAdapter(batch).with_columns(new)


class _MemoryGuard:
    """Hands the allocator's freed chunks back to the OS (mimalloc and jemalloc keep
    them, and RSS would creep past the budget) once the process has grown by three
    quarters of the budget since scoring began. Releasing after every chunk instead
    costs a page fault per page of the next chunk: ~0.6 CPU s per 1M digits rows at
    the default budget, where RSS stays well inside it anyway."""

    def __init__(self, budget: int) -> None:
        self.page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
        start = self._rss()
        self.limit = None if start is None else start + budget * 3 // 4

    def _rss(self) -> int | None:
        """Resident bytes from /proc (Linux), else None."""
        try:
            with open("/proc/self/statm", "rb") as statm:
                return int(statm.read().split()[1]) * self.page
        except (OSError, ValueError, IndexError):
            return None

    def check(self) -> None:
        """Called between chunks: release when past the limit (always where RSS is unknown)."""
        rss = self._rss() if self.limit is not None else None
        if rss is None or self.limit is None or rss > self.limit:
            import pyarrow as pa

            pa.default_memory_pool().release_unused()
