"""The README's Ray Data recipe on a real local Ray (two CPUs, two actors):
``ds.map_batches(BatchPredictor, fn_constructor_kwargs=..., concurrency=2, ...)``.
Predictions equal in-process predict bitwise, rows in order."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pytest
from batch_utils import DIGITS, digits_rows, reference
from serve_folder import serve_folder

import tfjs_infer as ti

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True  # rows come back in order
    context.enable_progress_bars = False
    try:
        yield
    finally:
        ray.shutdown()


def test_map_batches_with_actors_and_a_model_by_url(local_ray: None) -> None:
    x, ids = digits_rows(3000)
    table = pa.table(
        {"id": ids, "pixels": pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), 64)}
    )
    with serve_folder(DIGITS.parent) as base:
        ds = ray.data.from_arrow(table).map_batches(
            ti.BatchPredictor,
            fn_constructor_kwargs={"source": base + "model.json", "top_k": 3},
            concurrency=2,
            batch_size=256,
            num_cpus=1,
        )
        out = ds.to_pandas()
    assert out["id"].tolist() == ids.tolist()
    np.testing.assert_array_equal(np.stack(out["probs"].to_numpy()), reference(x))
    best = ti.top_k(reference(x), k=3, labels=ti.load_model(DIGITS).labels)
    assert [list(v) for v in out["top_labels"]] == best.labels
    np.testing.assert_array_equal(np.stack(out["top_scores"].to_numpy()), best.scores)


def test_actor_threads_follow_num_cpus(local_ray: None) -> None:
    @ray.remote(num_cpus=1)
    def probe(predictor: ti.BatchPredictor) -> tuple:
        return ti.batch.engine_threads(), predictor.model.num_threads

    assert ray.get(probe.remote(ti.BatchPredictor(str(DIGITS)))) == ((1, "ray"), 1)
