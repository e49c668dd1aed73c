"""Batch scoring throughput: rows/s through the CLI (parquet to parquet), Dask, Ray and
Spark with two workers, beside in-process ``predict`` on the same data in the same run.

    python bench/batch.py [--digits-rows 1000000] [--images 20000]
                          [--mobilenet bench/.models/mobilenet_v2/tfjs/model.json]
                          [--engines io-only,cli,dask,ray,spark] [--workers 2] [--rounds 1]
                          [--image-layout both]

Two workloads: the bundled digits MLP on `--digits-rows` rows of 64 float32 features,
and MobileNetV2 (from ``make_bench_models.py``) on `--images` random 224x224x3 uint8
images (150 KB a row; 20k images are 3 GB of parquet, so lower it on a small machine),
in two layouts (`--image-layout`): a fixed-size list<uint8> column (``mobilenet_v2``)
and raw bytes per row (``mobilenetv2-bin``, which parquet decodes ~10x cheaper).
Each workload is written once to parquet (an id column and the input column per
row); every engine then reads it, scores it with ``tfjs_infer.BatchPredictor`` (the CLI
with its own streaming reader) and writes ``id`` + the output column to parquet. The
in-process figure is ``Model.predict`` on the rows already in memory (images in chunks of
256, cast to float32 chunk by chunk), timed before and after the engines (median).

Engine figures are wall time from submitting the job until the output is written
(workers load the model during the job); starting the engine (cluster, Ray, Spark
session) is timed and printed apart. Ratios are engine rows/s over in-process rows/s.

Beside wall time, each run's CPU time is taken: this process and every live descendant
process (the CLI, Dask's scheduler thread and workers, Ray's raylet and workers, Spark's
JVM and Python workers), so a figure includes the engine's own overhead. On a loaded
machine wall time measures the neighbours as much as the engine; the CPU ratio (in-process
CPU seconds over the engine's) is what a saturated idle machine would show as the wall
ratio. ``io-only`` reads the parquet file and writes an output of the same shape with
pyarrow through the CLI's reader and writer, without the model: the most any
parquet-to-parquet path can reach on that data (its ratio bounds the CLI's and the
engines').
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import header

import tfjs_infer as ti

BENCH = Path(__file__).resolve().parent
IMAGE_CHUNK = 256


class Workload:
    """One model and its data: rows in memory and the same rows as a parquet file."""

    def __init__(
        self, name: str, model: Path, x: np.ndarray, folder: Path, group: int, layout: str
    ) -> None:
        import pyarrow.parquet as pq

        self.name, self.model, self.x, self.layout = name, model, x, layout
        self.rows = len(x)
        self.path = folder / f"{name}.parquet"
        self.batch = group
        loaded = ti.load_model(model)
        self.column = loaded.inputs[0].name  # input columns are named as the model's input
        self.features: list[str] | None = None
        table, options = self._table()
        pq.write_table(table, self.path, row_group_size=group, **options)
        self.output = loaded.outputs[0].name
        self.width = int(np.prod(loaded.outputs[0].shape[1:]))

    def _table(self) -> tuple[Any, dict[str, Any]]:
        """The parquet table of `layout` and its write options."""
        import pyarrow as pa

        flat = np.ascontiguousarray(self.x.reshape(self.rows, -1))
        ids = pa.array(np.arange(self.rows, dtype=np.int64))
        if self.layout == "wide":  # a numeric column per feature (feature_columns)
            self.features = [f"f{i}" for i in range(flat.shape[1])]
            columns = [pa.array(np.ascontiguousarray(flat[:, i])) for i in range(flat.shape[1])]
            table = pa.table([ids, *columns], names=["id", *self.features])
            return table, {"compression": "none", "use_dictionary": False}
        if self.layout in ("bytes", "bytes-required"):  # raw bytes of the values per row
            width = flat.shape[1] * flat.itemsize
            cells = pa.FixedSizeBinaryArray.from_buffers(
                pa.binary(width), self.rows, [None, pa.py_buffer(flat)]
            )
            if self.layout == "bytes":  # as images were measured before: pyarrow defaults
                return pa.table({"id": ids, self.column: cells}), {}
            required = pa.schema(
                [pa.field("id", pa.int64(), False), pa.field(self.column, cells.type, False)]
            )
            table = pa.Table.from_arrays([ids, cells], schema=required)
            return table, {"compression": "none", "use_dictionary": False}
        cells = pa.FixedSizeListArray.from_arrays(pa.array(flat.reshape(-1)), flat.shape[1])
        return pa.table({"id": ids, self.column: cells}), {}

    def predictor(self) -> ti.BatchPredictor:
        return ti.BatchPredictor(str(self.model), feature_columns=self.features)


Timing = tuple[float, float]  # wall seconds, CPU seconds
Snapshot = tuple[dict[tuple[int, float], float], float]


def cpu_snapshot() -> Snapshot:
    """CPU seconds of this process and each live descendant (by pid and start time),
    and of the reaped children."""
    per_process: dict[tuple[int, float], float] = {}
    try:
        import psutil
    except ImportError:  # this process only (psutil comes with the dask extra)
        per_process[(os.getpid(), 0.0)] = time.process_time()
    else:
        me = psutil.Process()
        for proc in [me, *me.children(recursive=True)]:
            try:
                times = proc.cpu_times()
                per_process[(proc.pid, proc.create_time())] = times.user + times.system
            except psutil.Error:  # ended meanwhile
                continue
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    return per_process, reaped.ru_utime + reaped.ru_stime


def cpu_since(start: Snapshot) -> float:
    """CPU seconds used since `start` by this process and its descendants (a
    descendant that ended unreaped in between is missed)."""
    now, reaped = cpu_snapshot()
    used = sum(seconds - start[0].get(key, 0.0) for key, seconds in now.items())
    return used + reaped - start[1]


def in_process(work: Workload) -> tuple[Timing, np.ndarray]:
    """(seconds, CPU seconds) of Model.predict over the rows in memory (cast per
    chunk for images), and its outputs (rows, values): the reference every engine's
    output must equal bitwise."""
    model = ti.load_model(work.model)
    parts = []
    start, cpu = time.perf_counter(), cpu_snapshot()
    if work.x.dtype == np.float32:
        parts.append(model.predict(work.x))
    else:
        for i in range(0, work.rows, IMAGE_CHUNK):
            parts.append(model.predict(work.x[i : i + IMAGE_CHUNK].astype(np.float32)))
    timing = time.perf_counter() - start, cpu_since(cpu)
    return timing, np.concatenate(parts).reshape(work.rows, -1)


def run_cli(work: Workload, out: Path) -> Timing:
    """Run the CLI; (wall s, CPU s) of its streaming part alone, as it prints them
    (after the interpreter's start, imports and loading the model)."""
    command = [sys.executable, "-m", "tfjs_infer.cli", "predict", str(work.model), str(work.path)]
    command += ["--out", str(out / "cli.parquet"), "--keep", "id", "--progress", "never"]
    if work.features:
        command += ["--feature-columns", ",".join(work.features)]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    found = re.search(r"([\d,]+) rows/s, ([\d.]+) CPU s\)", done.stderr)
    if found is None:
        return float("nan"), float("nan")
    return work.rows / float(found.group(1).replace(",", "")), float(found.group(2))


def io_only(work: Workload, out: Path) -> None:
    """The CLI's reading and writing without the model: the input column decoded to
    numpy chunk by chunk, ``id`` and zeros shaped as the output written to parquet."""
    import pyarrow as pa

    from tfjs_infer.batch import files
    from tfjs_infer.batch.columns import arrow_to_numpy, numpy_to_arrow

    reader = files.ParquetReader(work.path)
    columns = work.features or [work.column]
    writer = files.open_writer(out / "io.parquet")
    for batch, _ in reader.batches(["id", *columns], 65536 if work.batch > 1024 else 64):
        if work.features:  # into one (rows, features) array, as the predictor does
            np.column_stack([arrow_to_numpy(batch.column(c), c) for c in columns])
        else:
            arrow_to_numpy(batch.column(work.column), work.column)
        zeros = numpy_to_arrow(np.zeros((batch.num_rows, work.width), np.float32))
        writer.write(pa.record_batch([batch.column("id"), zeros], names=["id", work.output]))
    writer.close()


def _warm_imports() -> None:
    import pandas  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    import tfjs_infer.batch  # noqa: F401


class Dask:
    name = "dask"

    def start(self, workers: int) -> None:
        import distributed

        self.cluster = distributed.LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        self.client = distributed.Client(self.cluster)
        # A running cluster's workers have their libraries imported; a fresh one pays
        # that (~1 CPU s a worker) on its first task: part of starting it, not of a job.
        self.client.run(_warm_imports)

    def run(self, work: Workload, out: Path) -> None:
        import dask
        import dask.dataframe as dd
        import pyarrow as pa

        with dask.config.set({"dataframe.convert-string": False}):
            # pyarrow dtypes: list columns stay arrow arrays (no Python object per row).
            ddf = dd.read_parquet(work.path, split_row_groups=True, dtype_backend="pyarrow")
            predictor = work.predictor()
            meta = predictor.meta(ddf._meta)
            scored = ddf.map_partitions(predictor, meta=meta)[["id", work.output]]
            schema = predictor.arrow_schema(pa.schema([("id", pa.int64())]))
            # No dictionaries on number columns (pyarrow's default tries them: ~5x the
            # write time on float lists, for nothing), as the CLI writes.
            scored.to_parquet(out / "dask", write_index=False, schema=schema, use_dictionary=False)

    def stop(self) -> None:
        self.client.close()
        self.cluster.close()


class Ray:
    name = "ray"

    def start(self, workers: int) -> None:
        import ray

        # One logical CPU more than the actors hold: Ray Data's list/read/write tasks
        # each ask a whole CPU and would wait for ever behind two actors on two.
        ray.init(num_cpus=workers + 1, include_dashboard=False, log_to_driver=False)
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True
        context.enable_progress_bars = False
        self.workers = workers

    def run(self, work: Workload, out: Path) -> None:
        import ray

        ds = ray.data.read_parquet(str(work.path)).map_batches(
            ti.BatchPredictor,
            fn_constructor_kwargs={"source": str(work.model), "feature_columns": work.features},
            concurrency=self.workers,
            num_cpus=1,
            batch_size=work.batch,
        )
        ds.select_columns(["id", work.output]).write_parquet(str(out / "ray"))

    def stop(self) -> None:
        import ray

        ray.shutdown()


class Spark:
    name = "spark"

    def start(self, workers: int) -> None:
        from pyspark.sql import SparkSession

        os.environ["PYSPARK_PYTHON"] = sys.executable
        self.session = (
            SparkSession.builder.master(f"local[{workers}]")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.task.cpus", "1")
            .config("spark.driver.memory", "2g")
            .getOrCreate()
        )
        self.session.sparkContext.setLogLevel("ERROR")

    def run(self, work: Workload, out: Path) -> None:
        spark = self.session
        spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(work.batch))
        predictor = work.predictor()
        df = spark.read.parquet(str(work.path))
        scored = df.mapInPandas(
            lambda batches: (predictor(b) for b in batches),
            schema=predictor.spark_schema(df.schema),
        )
        scored.select("id", work.output).write.parquet(str(out / "spark"))

    def stop(self) -> None:
        self.session.stop()


def check_output(work: Workload, folder: Path, reference: np.ndarray) -> str:
    """'ok' when the engine's output equals in-process predict bitwise, rows in order."""
    import pyarrow.parquet as pq

    table = pq.read_table(folder).sort_by("id") if folder.is_dir() else pq.read_table(folder)
    ids = table.column("id").to_numpy()
    values = table.column(work.output).combine_chunks().to_numpy(zero_copy_only=False)
    if values.dtype == object:  # a list per row (Ray's tensor columns give an ndarray)
        values = np.stack(values)
    got = values.reshape(len(ids), -1)
    same = np.array_equal(ids, np.arange(work.rows)) and np.array_equal(got, reference)
    return "ok" if same else "MISMATCH"


def make_workloads(args: argparse.Namespace, folder: Path) -> list[Workload]:
    rng = np.random.default_rng(0)
    works = []
    if args.digits_rows:
        x = rng.random((args.digits_rows, 64), dtype=np.float32)
        path = ti.examples.digits_path()
        works.append(Workload("digits", path, x, folder, 65536, args.digits_layout))
    if args.images:
        if not Path(args.mobilenet).is_file():
            print(f"skipping MobileNetV2: {args.mobilenet} not found (make_bench_models.py)")
        else:
            x = rng.integers(0, 256, size=(args.images, 224, 224, 3), dtype=np.uint8)
            model = Path(args.mobilenet)
            if args.image_layout in ("list", "both"):
                works.append(Workload("mobilenet_v2", model, x, folder, 64, "list"))
            if args.image_layout in ("binary", "both"):
                works.append(Workload("mobilenetv2-bin", model, x, folder, 64, "bytes"))
    return works


def measured(fn: Callable[[], Any]) -> tuple[float, float]:
    """(seconds, CPU seconds of this process and its descendants) of fn()."""
    start, cpu = time.perf_counter(), cpu_snapshot()
    fn()
    return time.perf_counter() - start, cpu_since(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--digits-rows", type=int, default=1_000_000)
    parser.add_argument("--images", type=int, default=20_000)
    parser.add_argument(
        "--mobilenet", default=str(BENCH / ".models" / "mobilenet_v2" / "tfjs" / "model.json")
    )
    parser.add_argument("--engines", default="io-only,cli,dask,ray,spark")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--image-layout",
        choices=["list", "binary", "both"],
        default="both",
        help="images as a fixed-size list<uint8> column, raw bytes per row, or both",
    )
    parser.add_argument(
        "--digits-layout",
        choices=["bytes-required", "bytes", "list", "wide"],
        default="bytes-required",
        help="digits rows as their 256 float32 bytes in a non-nullable fixed-size binary "
        "column, uncompressed, no dictionary (the layout README recommends); the same bytes "
        "with pyarrow's default options; a fixed-size list<float32> column; or 64 float32 "
        "feature columns (uncompressed, no dictionary)",
    )
    parser.add_argument("--rounds", type=int, default=1, help="runs of every engine (median)")
    args = parser.parse_args()
    header()
    print(f"load average at the start: {os.getloadavg()[0]:.2f}")
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    folder = Path(tempfile.mkdtemp(prefix="tfjs-infer-batch-"))
    try:
        works = make_workloads(args, folder)
        for w in works:
            size = w.path.stat().st_size / 1e6
            print(f"{w.name}: {w.rows} rows, input layout '{w.layout}', {size:,.0f} MB of parquet")
        report(works, engines, args, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


def report(
    works: list[Workload], engines: list[str], args: argparse.Namespace, folder: Path
) -> None:
    times: dict[tuple[str, str], list[Timing]] = {}
    checks: dict[tuple[str, str], str] = {}
    starts: dict[str, float] = {}
    refs = {}
    for w in works:
        timing, refs[w.name] = in_process(w)
        times[(w.name, "in-process")] = [timing]
    for round_ in range(args.rounds):
        for name in engines:
            engine = {"dask": Dask, "ray": Ray, "spark": Spark}.get(name)
            if engine is not None:
                runner = engine()
                starts[name] = measured(lambda: runner.start(args.workers))[0]  # noqa: B023
                print(f"  {name} started in {starts[name]:.1f} s", flush=True)
            for w in works:
                out = folder / f"{name}-{w.name}-{round_}"
                out.mkdir()
                if name == "cli":
                    streaming: list[Timing] = []
                    timing = measured(lambda: streaming.append(run_cli(w, out)))  # noqa: B023
                    checks[(w.name, name)] = check_output(w, out / "cli.parquet", refs[w.name])
                    times.setdefault((w.name, "cli-stream"), []).append(streaming[0])
                    checks[(w.name, "cli-stream")] = "(the CLI's own figures)"
                elif name == "io-only":
                    timing = measured(lambda: io_only(w, out))  # noqa: B023
                    checks[(w.name, name)] = "(no model)"
                else:
                    timing = measured(lambda: runner.run(w, out))  # noqa: B023
                    checks[(w.name, name)] = check_output(w, out / name, refs[w.name])
                times.setdefault((w.name, name), []).append(timing)
                print(f"  {w.name} {name}: {timing[0]:.2f} s, {timing[1]:.2f} CPU s, "
                      f"{checks[(w.name, name)]}", flush=True)  # fmt: skip
                shutil.rmtree(out)
            if engine is not None:
                runner.stop()
    for w in works:
        times[(w.name, "in-process")].append(in_process(w)[0])
    print_table(works, engines, times, checks, starts)


def print_table(
    works: list[Workload],
    engines: list[str],
    times: dict[tuple[str, str], list[Timing]],
    checks: dict[tuple[str, str], str],
    starts: dict[str, float],
) -> None:
    print()
    print(f"{'workload':14s} {'engine':11s} {'rows':>9s} {'seconds':>9s} {'rows/s':>11s} "
          f"{'ratio':>6s} {'CPU s':>8s} {'CPU ratio':>9s}  output")  # fmt: skip
    for w in works:
        base = statistics.median(t[0] for t in times[(w.name, "in-process")])
        base_cpu = statistics.median(t[1] for t in times[(w.name, "in-process")])
        for name in ["in-process", *engines]:
            if name == "cli":  # the whole command, then its streaming part alone
                print_row(w, "cli", times, checks, base, base_cpu)
                name = "cli-stream"
            print_row(w, name, times, checks, base, base_cpu)
    for name, seconds in starts.items():
        print(f"start-up {name}: {seconds:.1f} s (not in the figures above)")


def print_row(
    w: Workload,
    name: str,
    times: dict[tuple[str, str], list[Timing]],
    checks: dict[tuple[str, str], str],
    base: float,
    base_cpu: float,
) -> None:
    """One table row: median wall and CPU seconds, and their ratios to in-process."""
    seconds = statistics.median(t[0] for t in times[(w.name, name)])
    cpu = statistics.median(t[1] for t in times[(w.name, name)])
    check = checks.get((w.name, name), "")
    cpu_ratio = base_cpu / cpu if cpu > 0 else float("nan")  # psutil ticks 10 ms
    print(f"{w.name:14s} {name:11s} {w.rows:9d} {seconds:9.2f} {w.rows / seconds:11,.0f} "
          f"{base / seconds:6.2f} {cpu:8.2f} {cpu_ratio:9.2f}  {check}")  # fmt: skip


if __name__ == "__main__":
    main()
