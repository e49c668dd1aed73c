"""``tfjs-infer predict MODEL table --out table``: parquet, CSV and JSON Lines in
and out, --keep, top-k, and a parquet file four times the memory budget
streamed through with its peak RSS measured."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
from batch_utils import DIGITS, digits_rows, reference

import tfjs_infer as ti
from fixture_utils import ATOL, FIXTURES, RTOL, arrays, read_io

TWO = FIXTURES / "tfjs" / "topo_two_in_two_out"


def cli(*args: object, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "tfjs_infer.cli", "predict", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TFJS_INFER_PROGRESS": "never"},
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def fixed_list(x: np.ndarray) -> pa.FixedSizeListArray:
    return pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), x.shape[1])


def write_digits_parquet(path: Path, n: int, row_group: int | None = None) -> tuple:
    x, ids = digits_rows(n)
    table = pa.table({"id": ids, "pixels": fixed_list(x), "note": [f"r{i}" for i in range(n)]})
    pq.write_table(table, path, row_group_size=row_group)
    return x, ids


def probs_of(table: pa.Table) -> np.ndarray:
    return np.array(table.column("probs").to_pylist(), dtype=np.float32)


def test_parquet_to_parquet_keeps_ids_and_ranks(tmp_path: Path) -> None:
    x, ids = write_digits_parquet(tmp_path / "in.parquet", 1000, row_group=300)
    proc = cli(
        DIGITS, tmp_path / "in.parquet", "--out", tmp_path / "out.parquet",
        "--keep", "id", "--keep", "note", "--top-k", "2", "--memory-budget", "512K",
    )  # fmt: skip
    assert "wrote" in proc.stderr and "1000 rows" in proc.stderr
    out = pq.read_table(tmp_path / "out.parquet")
    assert out.schema.names == ["id", "note", "probs", "top_labels", "top_scores"]
    assert pq.ParquetFile(tmp_path / "out.parquet").metadata.num_row_groups > 3  # streamed
    assert out.column("id").to_pylist() == ids.tolist()
    assert out.column("note").to_pylist() == [f"r{i}" for i in range(1000)]
    np.testing.assert_array_equal(probs_of(out), reference(x))
    best = ti.top_k(reference(x), k=2, labels=ti.load_model(DIGITS).labels)
    assert out.column("top_labels").to_pylist() == best.labels


def test_parquet_binary_column_streams_as_uint8(tmp_path: Path) -> None:
    """Raw bytes per row (the cheap layout for images: no levels to decode) give
    what a list<uint8> column of the same values gives, in many small chunks."""
    x, ids = digits_rows(900)
    pixels = x.astype(np.uint8)
    cells = pa.array([row.tobytes() for row in pixels], type=pa.binary(64))
    table = pa.table({"id": ids, "pixels": cells})
    pq.write_table(table, tmp_path / "b.parquet", row_group_size=250)
    cli(DIGITS, tmp_path / "b.parquet", "--out", tmp_path / "o.parquet", "--keep", "id",
        "--memory-budget", "256K")  # fmt: skip
    out = pq.read_table(tmp_path / "o.parquet")
    assert pq.ParquetFile(tmp_path / "o.parquet").metadata.num_row_groups > 4
    assert out.column("id").to_pylist() == ids.tolist()
    np.testing.assert_array_equal(probs_of(out), reference(pixels))


def test_parquet_float32_bytes_column(tmp_path: Path) -> None:
    """The layout bench/batch.py measures for 64 float32 features: each row's
    values as 256 raw bytes in a non-nullable fixed-size binary column."""
    x, ids = digits_rows(700)
    cells = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(256), 700, [None, pa.py_buffer(x.astype("<f4").tobytes())]
    )
    schema = pa.schema(
        [pa.field("id", pa.int64(), False), pa.field("pixels", pa.binary(256), False)]
    )
    table = pa.Table.from_arrays([pa.array(ids), cells], schema=schema)
    pq.write_table(table, tmp_path / "f.parquet", row_group_size=200, compression="none")
    proc = cli(DIGITS, tmp_path / "f.parquet", "--out", tmp_path / "o.parquet", "--keep", "id")
    assert "CPU s)" in proc.stderr  # the streaming part's own figures
    out = pq.read_table(tmp_path / "o.parquet")
    assert out.column("id").to_pylist() == ids.tolist()
    np.testing.assert_array_equal(probs_of(out), reference(x))
    group = pq.ParquetFile(tmp_path / "o.parquet").metadata.row_group(0)
    assert group.column(0).statistics is not None  # ids keep min/max; lists skip them
    assert group.column(1).statistics is None


def test_csv_feature_columns_to_csv_and_jsonl(tmp_path: Path) -> None:
    x, ids = digits_rows(300)
    names = [f"f{i}" for i in range(64)]
    table = pa.table({"id": ids, **{n: x[:, i] for i, n in enumerate(names)}})
    pcsv.write_csv(table, tmp_path / "in.csv")
    cli(DIGITS, tmp_path / "in.csv", "--out", tmp_path / "out.csv", "--keep", "id", "--top-k", "1")
    out = pcsv.read_csv(tmp_path / "out.csv")
    assert out.column_names[:2] == ["id", "probs[0]"] and out.column_names[-2:] == [
        "top_labels",
        "top_scores",
    ]
    probs = np.column_stack([out.column(f"probs[{j}]").to_numpy() for j in range(10)])
    np.testing.assert_array_equal(probs.astype(np.float32), reference(x))  # text round-trips
    assert out.column("id").to_pylist() == ids.tolist()
    # The CSV output (probs[0..9]) reads back as a list column named as the output.
    cli(DIGITS, tmp_path / "in.csv", "--out", tmp_path / "out.jsonl", "--keep", "id")
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ids.tolist()
    got = np.array([r["probs"] for r in rows], dtype=np.float32)
    np.testing.assert_array_equal(got, reference(x))


def test_jsonl_in_and_flat_csv_columns_in(tmp_path: Path) -> None:
    x, ids = digits_rows(120)
    lines = [json.dumps({"id": int(i), "pixels": r.tolist()}) for i, r in zip(ids, x)]
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n")
    cli(DIGITS, tmp_path / "in.jsonl", "--out", tmp_path / "out.parquet", "--keep", "id")
    out = pq.read_table(tmp_path / "out.parquet")
    np.testing.assert_array_equal(probs_of(out), reference(x))
    flat = {"id": ids, **{f"pixels[{i}]": x[:, i] for i in range(64)}}
    pcsv.write_csv(pa.table(flat), tmp_path / "flat.csv")
    cli(DIGITS, tmp_path / "flat.csv", "--out", tmp_path / "flat.parquet")
    np.testing.assert_array_equal(probs_of(pq.read_table(tmp_path / "flat.parquet")), reference(x))


def test_two_inputs_two_outputs_match_tfjs(tmp_path: Path) -> None:
    io = read_io(TWO)
    xs = dict(zip([r["name"] for r in io["inputs"]], arrays(io["inputs"])))
    refs = dict(zip([r["name"] for r in io["outputs"]], arrays(io["outputs"])))
    table = pa.table({"a": fixed_list(xs["a"]), "b": fixed_list(xs["b"])})
    pq.write_table(table, tmp_path / "in.parquet")
    cli(TWO, tmp_path / "in.parquet", "--out", tmp_path / "out.parquet")
    out = pq.read_table(tmp_path / "out.parquet")
    assert out.schema.names == ["out_sum", "out_cat"]
    in_process = ti.load_model(TWO).predict(xs)
    for j, name in enumerate(["out_sum", "out_cat"]):
        got = np.array(out.column(name).to_pylist(), dtype=np.float32)
        np.testing.assert_array_equal(got, in_process[j])
        np.testing.assert_allclose(got, refs[name], rtol=RTOL, atol=ATOL)


def test_table_errors_are_clear(tmp_path: Path) -> None:
    write_digits_parquet(tmp_path / "in.parquet", 10)
    proc = cli(DIGITS, tmp_path / "in.parquet", "--out", tmp_path / "o.parquet", "--keep", "nope",
               check=False)  # fmt: skip
    assert proc.returncode == 2 and "--keep ['nope']: no such column" in proc.stderr
    proc = cli(DIGITS, tmp_path / "in.parquet", check=False)
    assert proc.returncode == 2 and "give --out FILE.parquet" in proc.stderr
    pq.write_table(pa.table({"x": [1.0, 2.0]}), tmp_path / "bad.parquet")
    proc = cli(DIGITS, tmp_path / "bad.parquet", "--out", tmp_path / "o.parquet", check=False)
    assert proc.returncode == 2 and "takes 64 features" in proc.stderr
    (tmp_path / "bad.jsonl").write_text('{"pixels": [1, 2]}\nnot json\n')
    proc = cli(DIGITS, tmp_path / "bad.jsonl", "--out", tmp_path / "o.jsonl", check=False)
    assert proc.returncode == 2 and "bad.jsonl:2: not JSON" in proc.stderr


def peak_rss_mib(*args: object) -> float:
    """Peak RSS of `tfjs-infer predict ARGS` in its own process, in MiB."""
    runner = (
        "import resource, subprocess, sys\n"
        "rc = subprocess.run(sys.argv[1:]).returncode\n"
        "print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    command = [sys.executable, "-m", "tfjs_infer.cli", "predict", *map(str, args)]
    proc = subprocess.run(
        [sys.executable, "-c", runner, *command], capture_output=True, text=True, timeout=600
    )
    rc, kib = proc.stdout.split()[-2:]
    assert rc == "0", proc.stderr
    return int(kib) / 1024


def test_parquet_four_times_the_memory_budget_streams(tmp_path: Path) -> None:
    budget_mib = 24
    n = 420_000  # 64 float32 + an id per row: ~111 MB of data in one row group
    rng = np.random.default_rng(0)
    x = rng.random((n, 64), dtype=np.float32)
    ids = np.arange(n, dtype=np.int64)
    pq.write_table(pa.table({"id": ids, "pixels": fixed_list(x)}), tmp_path / "big.parquet")
    pq.write_table(pa.table({"id": ids[:500], "pixels": fixed_list(x[:500])}), tmp_path / "s.pq")
    data_mib = (x.nbytes + ids.nbytes) / 2**20
    assert data_mib >= 4 * budget_mib
    assert (tmp_path / "big.parquet").stat().st_size / 2**20 >= 4 * budget_mib
    opts = ["--keep", "id", "--memory-budget", f"{budget_mib}M"]
    baseline = peak_rss_mib(DIGITS, tmp_path / "s.pq", "--out", tmp_path / "s.out.parquet", *opts)
    peak = peak_rss_mib(DIGITS, tmp_path / "big.parquet", "--out", tmp_path / "o.parquet", *opts)
    # The budget bounds the rows in flight; allocator and pyarrow buffers add a
    # little on top (24.25-24.5 MiB seen under load), so allow a quarter more.
    # Reading the whole row group (>= 4x the budget) would still fail here.
    assert peak - baseline <= 1.25 * budget_mib, (peak, baseline)
    out = pq.read_table(tmp_path / "o.parquet")
    assert out.num_rows == n
    np.testing.assert_array_equal(out.column("id").to_numpy(), ids)
    np.testing.assert_array_equal(probs_of(out), ti.load_model(DIGITS).predict(x))


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl"])
def test_table_mode_needs_one_table_file(tmp_path: Path, suffix: str) -> None:
    np.save(tmp_path / "x.npy", digits_rows(2)[0])
    proc = cli(DIGITS, tmp_path / "x.npy", "--out", tmp_path / f"o{suffix}", check=False)
    assert proc.returncode == 2 and "takes one input table file" in proc.stderr
