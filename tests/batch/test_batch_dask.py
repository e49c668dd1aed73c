"""The README's Dask recipes on a real local cluster of two worker processes:
``ddf.map_partitions(predictor, meta=...)`` and dask.array ``map_blocks``.
Predictions equal in-process predict bitwise, rows in order."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from batch_utils import DIGITS, digits_rows, digits_zip_bytes, reference
from serve_folder import serve_folder

import tfjs_infer as ti

dask = pytest.importorskip("dask")
dd = pytest.importorskip("dask.dataframe")
da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client() -> Iterator[distributed.Client]:
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with distributed.Client(cluster) as dask_client:
        yield dask_client
    cluster.close()


def test_map_partitions_with_a_model_by_url(client: distributed.Client) -> None:
    x, ids = digits_rows(2000)
    frame = pd.DataFrame(x, columns=[f"px{i}" for i in range(64)])
    frame.insert(0, "id", ids)
    ddf = dd.from_pandas(frame, npartitions=6)
    with serve_folder(DIGITS.parent) as base:
        predictor = ti.BatchPredictor(
            base + "model.json", feature_columns=[f"px{i}" for i in range(64)], top_k=2
        )
        out = ddf.map_partitions(predictor, meta=predictor.meta(ddf._meta)).compute()
        where = client.run(lambda: sorted(str(k[0]) for k in _cache_keys()))
    assert len(where) == 2 and all(
        keys == [str(("url", base + "model.json"))] for keys in where.values()
    )
    assert out["id"].tolist() == ids.tolist()  # rows in order
    np.testing.assert_array_equal(np.stack(out["probs"].to_numpy()), reference(x))
    best = ti.top_k(reference(x), k=2, labels=[str(i) for i in range(10)])
    assert [list(v) for v in out["top_labels"]] == best.labels


def test_map_blocks_with_a_model_from_bytes(client: distributed.Client) -> None:
    x, _ = digits_rows(1500)
    predictor = ti.BatchPredictor(digits_zip_bytes())
    blocks = da.from_array(x, chunks=(250, 64))
    probs = blocks.map_blocks(
        predictor,
        chunks=(blocks.chunks[0], (10,)),
        dtype=np.float32,
        meta=np.empty((0, 10), np.float32),
    )
    np.testing.assert_array_equal(probs.compute(), reference(x))


def test_workers_use_their_nthreads_and_a_pickled_model(client: distributed.Client) -> None:
    x, ids = digits_rows(600)
    model = ti.load_model(DIGITS)
    predictor = ti.BatchPredictor(model)
    frame = pd.DataFrame({"id": ids, "pixels": list(x)})
    # Dask turns object columns into strings unless told not to (README recipe).
    with dask.config.set({"dataframe.convert-string": False}):
        ddf = dd.from_pandas(frame, npartitions=3)
        out = ddf.map_partitions(predictor, meta=predictor.meta(ddf._meta)).compute()
    np.testing.assert_array_equal(np.stack(out["probs"].to_numpy()), model.predict(x))
    assert out["id"].tolist() == ids.tolist()
    threads = client.submit(
        lambda p: (ti.batch.engine_threads(), p.model.num_threads), predictor, pure=False
    )
    assert threads.result() == ((1, "dask"), 1)


def _cache_keys() -> list:
    from tfjs_infer.batch import predictor as module

    return list(module._MODELS)


def test_read_parquet_with_pyarrow_dtypes(client: distributed.Client, tmp_path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    x, ids = digits_rows(1200)
    pixels = pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), 64)
    pq.write_table(
        pa.table({"id": ids, "pixels": pixels}), tmp_path / "d.parquet", row_group_size=300
    )
    ddf = dd.read_parquet(tmp_path / "d.parquet", split_row_groups=True, dtype_backend="pyarrow")
    predictor = ti.BatchPredictor(str(DIGITS), top_k=1)
    out = ddf.map_partitions(predictor, meta=predictor.meta(ddf._meta)).compute()
    assert out["id"].tolist() == ids.tolist()
    probs = pa.array(out["probs"]).flatten().to_numpy().reshape(-1, 10)
    np.testing.assert_array_equal(probs, reference(x))
    assert out["top_labels"].tolist() == [str(i) for i in reference(x).argmax(1)]


def test_parquet_to_parquet_with_binary_pixels(client: distributed.Client, tmp_path) -> None:
    """The README's Dask recipe end to end: raw bytes per row in, to_parquet out."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    x, ids = digits_rows(900)
    pixels = x.astype(np.uint8)
    cells = pa.array([row.tobytes() for row in pixels], type=pa.binary(64))
    table = pa.table({"id": ids, "pixels": cells})
    pq.write_table(table, tmp_path / "b.parquet", row_group_size=200)
    ddf = dd.read_parquet(tmp_path / "b.parquet", split_row_groups=True, dtype_backend="pyarrow")
    predictor = ti.BatchPredictor(str(DIGITS))
    scored = ddf.map_partitions(predictor, meta=predictor.meta(ddf._meta))
    scored[["id", "probs"]].to_parquet(
        tmp_path / "out",
        write_index=False,
        use_dictionary=False,
        schema=predictor.arrow_schema(pa.schema([("id", pa.int64())])),
    )
    out = pq.read_table(tmp_path / "out")  # part.0 ... part.4, rows in order
    assert out.column("id").to_pylist() == ids.tolist()
    probs = out.column("probs").combine_chunks().values.to_numpy().reshape(-1, 10)
    np.testing.assert_array_equal(probs, reference(pixels))
