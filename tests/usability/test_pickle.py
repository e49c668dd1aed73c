"""Model and exceptions pickle round trips (for Dask, Ray, Spark, multiprocessing)."""

from __future__ import annotations

import copy
import json
import multiprocessing
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

import tfjs_infer as ti
from fixture_utils import FIXTURES, arrays, check_model, read_io
from tfjs_infer import errors


def test_model_round_trip_keeps_outputs_labels_and_metadata() -> None:
    model = ti.load_model(ti.examples.digits_path())
    x, _ = ti.examples.digits_samples()
    before = model.predict(x)
    clone = pickle.loads(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))
    assert isinstance(clone, ti.Model)
    np.testing.assert_array_equal(clone.predict(x), before)  # bitwise
    assert clone.labels == model.labels
    assert clone.metadata == model.metadata
    assert clone.summary(print_fn=None) == model.summary(print_fn=None)
    assert [(t.name, t.shape, t.dtype) for t in clone.inputs] == [
        (t.name, t.shape, t.dtype) for t in model.inputs
    ]


def test_weights_travel_with_the_pickle_not_the_path(tmp_path: Path) -> None:
    case = FIXTURES / "converter" / "sharded"  # 7 shards; TF.js computed the references
    folder = tmp_path / "m"
    shutil.copytree(case, folder)
    model = ti.load_model(folder)
    blob = pickle.dumps(model)
    shutil.rmtree(folder)  # nothing on disk is needed to unpickle
    clone = pickle.loads(blob)
    check_model(clone, case)
    state = model.__getstate__()
    assert "folder" not in state["spec"]
    assert not any(isinstance(v, Path) for v in state["spec"].values())
    weights_bytes = sum(a.nbytes for a in state["spec"]["weights"].values())
    assert weights_bytes > 0 and len(blob) < weights_bytes * 1.2 + 200_000


@pytest.mark.parametrize("case", ["topo_two_in_two_out", "topo_tm_style", "embedding_int32"])
def test_round_trip_of_fixture_models_matches_tfjs(case: str) -> None:
    path = FIXTURES / "tfjs" / case
    check_model(pickle.loads(pickle.dumps(ti.load_model(path))), path)


def test_options_travel_and_copy_works() -> None:
    model = ti.load_model(ti.examples.digits_path(), num_threads=1, isa="generic")
    clone = pickle.loads(pickle.dumps(model))
    assert clone.num_threads == 1
    assert clone.isa == "generic"
    model.num_threads = 2
    assert pickle.loads(pickle.dumps(model)).num_threads == 2
    default = ti.load_model(ti.examples.digits_path())
    # Unset options stay unset: the receiving machine picks its own best ISA and thread count.
    assert pickle.loads(pickle.dumps(default)).isa == default.isa
    deep = copy.deepcopy(model)
    x, _ = ti.examples.digits_samples()
    np.testing.assert_array_equal(deep.predict(x[:7]), model.predict(x[:7]))


def test_unknown_pickle_format_is_a_clear_error() -> None:
    model = ti.load_model(ti.examples.digits_path())
    state = model.__getstate__()
    state["format"] = 99
    clone = ti.Model.__new__(ti.Model)
    with pytest.raises(errors.InvalidModelError, match="format 99"):
        clone.__setstate__(state)


def _predict_in_child(blob: bytes, x: np.ndarray) -> np.ndarray:
    return pickle.loads(blob).predict(x)


def test_model_ships_to_another_process() -> None:
    case = FIXTURES / "tfjs" / "topo_tm_style"
    model = ti.load_model(case)
    x = arrays(read_io(case)["inputs"])[0]
    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter, as a cluster worker is
    with ctx.Pool(1) as pool:
        got = pool.apply(_predict_in_child, (pickle.dumps(model), x))
    np.testing.assert_array_equal(got, model.predict(x))


ERROR_CASES = [
    errors.TfjsInferError("base"),
    errors.InvalidModelError("bad model", layer="dense_1"),
    errors.UnsupportedLayerError("layer 'l' (Foo)", layer="l", class_name="Foo"),
    errors.WeightsError("w", name="dense/kernel"),
    errors.InputShapeError("input 'x'", name="x", expected=(None, 3), received=(2, 4)),
    errors.InputDtypeError("dtype", name="x"),
    errors.InputValueError("ids", name="ids"),
    errors.DeviceUnavailableError("no avx512"),
    errors.DownloadError("http://h/m.json: HTTP 404", url="http://h/m.json", status=404),
]


@pytest.mark.parametrize("exc", ERROR_CASES, ids=lambda e: type(e).__name__)
def test_exceptions_pickle_with_their_attributes(exc: Exception) -> None:
    back = pickle.loads(pickle.dumps(exc))
    assert type(back) is type(exc)
    assert str(back) == str(exc)
    assert back.__dict__ == exc.__dict__


def test_raised_errors_pickle_too(tmp_path: Path) -> None:
    model = ti.load_model(ti.examples.digits_path())
    with pytest.raises(errors.InputShapeError) as info:
        model.predict(np.zeros((2, 5), np.float32))
    back = pickle.loads(pickle.dumps(info.value))
    assert str(back) == str(info.value)
    assert "pixels" in str(back) and "(None, 64)" in str(back) and "(2, 5)" in str(back)
    assert back.expected == (None, 64) and back.received == (2, 5)
    bad = tmp_path / "model.json"
    bad.write_text(json.dumps({"modelTopology": None}))
    with pytest.raises(errors.InvalidModelError) as info2:
        ti.load_model(bad)
    assert str(pickle.loads(pickle.dumps(info2.value))) == str(info2.value)


@pytest.mark.parametrize(
    "case", ["keras2/mlp_sequential", "keras2/mlp_sequential_keras", "keras3/embedding"]
)
def test_round_trip_of_keras_files_matches_keras(case: str) -> None:
    path = FIXTURES / case
    model = ti.load_model(path / read_io(path)["model_file"])
    check_model(pickle.loads(pickle.dumps(model)), path)
