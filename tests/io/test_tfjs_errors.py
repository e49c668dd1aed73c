"""Every malformed TF.js model file yields a named tfjs_infer error, never a crash.

Each case starts from a real fixture (made by TF.js or the converter) and
corrupts one thing.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import tfjs_infer
from tfjs_infer.errors import (
    InputDtypeError,
    InputShapeError,
    InputValueError,
    InvalidModelError,
    TfjsInferError,
    UnsupportedLayerError,
    WeightsError,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
MLP = FIXTURES / "converter" / "mlp_batchnorm"
SHARDED = FIXTURES / "converter" / "sharded"
QUANT = FIXTURES / "converter" / "quant_uint8"


def _copy(src: Path, tmp_path: Path) -> Path:
    dst = tmp_path / src.name
    shutil.copytree(src, dst)
    return dst


def _edit(folder: Path, fn) -> Path:
    path = folder / "model.json"
    doc = json.loads(path.read_text())
    fn(doc)
    path.write_text(json.dumps(doc))
    return path


def test_error_classes_subclass_builtins() -> None:
    assert issubclass(InvalidModelError, ValueError)
    assert issubclass(InputDtypeError, TypeError)
    assert issubclass(WeightsError, InvalidModelError)
    assert issubclass(UnsupportedLayerError, TfjsInferError)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidModelError, match="no such"):
        tfjs_infer.load_model(tmp_path / "nope" / "model.json")


def test_not_json(tmp_path: Path) -> None:
    (tmp_path / "model.json").write_text("{not json")
    with pytest.raises(InvalidModelError, match="not valid JSON"):
        tfjs_infer.load_model(tmp_path / "model.json")


def test_json_not_an_object(tmp_path: Path) -> None:
    (tmp_path / "model.json").write_text("[1, 2]")
    with pytest.raises(InvalidModelError, match="expected a JSON object"):
        tfjs_infer.load_model(tmp_path / "model.json")


def test_graph_model_refused(tmp_path: Path) -> None:
    (tmp_path / "model.json").write_text(
        json.dumps({"format": "graph-model", "modelTopology": {"node": []}})
    )
    with pytest.raises(UnsupportedLayerError, match="GraphModel"):
        tfjs_infer.load_model(tmp_path / "model.json")


def test_weights_only_file_refused(tmp_path: Path) -> None:
    folder = _copy(MLP, tmp_path)
    path = _edit(folder, lambda d: d.__setitem__("modelTopology", None))
    with pytest.raises(InvalidModelError, match="modelTopology"):
        tfjs_infer.load_model(path)


def test_missing_manifest(tmp_path: Path) -> None:
    folder = _copy(MLP, tmp_path)
    path = _edit(folder, lambda d: d.pop("weightsManifest"))
    with pytest.raises(WeightsError, match="weightsManifest"):
        tfjs_infer.load_model(path)


def test_missing_shard_names_the_file(tmp_path: Path) -> None:
    folder = _copy(SHARDED, tmp_path)
    victim = sorted(folder.glob("*.bin"))[2]
    victim.unlink()
    with pytest.raises(WeightsError, match=victim.name):
        tfjs_infer.load_model(folder / "model.json")


def test_truncated_shard(tmp_path: Path) -> None:
    folder = _copy(SHARDED, tmp_path)
    last = sorted(folder.glob("*.bin"))[-1]
    last.write_bytes(last.read_bytes()[:-3])
    with pytest.raises(WeightsError, match="truncated"):
        tfjs_infer.load_model(folder / "model.json")


def test_oversized_shard(tmp_path: Path) -> None:
    folder = _copy(MLP, tmp_path)
    shard = sorted(folder.glob("*.bin"))[0]
    shard.write_bytes(shard.read_bytes() + b"\0" * 8)
    with pytest.raises(WeightsError, match="oversized"):
        tfjs_infer.load_model(folder / "model.json")


@pytest.mark.parametrize(
    "bad", ["../outside.bin", "/etc/passwd", "sub/../../x.bin", "http://example.invalid/w.bin"]
)
def test_shard_path_escape_refused(tmp_path: Path, bad: str) -> None:
    folder = _copy(MLP, tmp_path)
    path = _edit(folder, lambda d: d["weightsManifest"][0]["paths"].__setitem__(0, bad))
    with pytest.raises(WeightsError, match=r"refused|absolute|outside"):
        tfjs_infer.load_model(path)


def test_shape_mismatch_names_layer_and_shapes(tmp_path: Path) -> None:
    folder = _copy(MLP, tmp_path)

    def swap(doc: dict) -> None:
        for w in doc["weightsManifest"][0]["weights"]:
            if w["name"].endswith("kernel") and len(w["shape"]) == 2:
                w["shape"] = [w["shape"][1], w["shape"][0]]  # same byte size, wrong shape
                return

    path = _edit(folder, swap)
    with pytest.raises(InvalidModelError, match=r"kernel.*shape"):
        tfjs_infer.load_model(path)


def test_absurd_dimension(tmp_path: Path) -> None:
    folder = _copy(MLP, tmp_path)
    path = _edit(
        folder,
        lambda d: d["weightsManifest"][0]["weights"][0].__setitem__("shape", [1 << 40, 1 << 20]),
    )
    with pytest.raises(WeightsError, match="large"):
        tfjs_infer.load_model(path)


def test_negative_dimension(tmp_path: Path) -> None:
    folder = _copy(MLP, tmp_path)
    path = _edit(
        folder, lambda d: d["weightsManifest"][0]["weights"][0].__setitem__("shape", [-1, 4])
    )
    with pytest.raises(WeightsError, match="non-negative"):
        tfjs_infer.load_model(path)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "0.1", None])
def test_non_finite_quantization_params(tmp_path: Path, value) -> None:
    folder = _copy(QUANT, tmp_path)

    def corrupt(doc: dict) -> None:
        for group in doc["weightsManifest"]:
            for w in group["weights"]:
                if "quantization" in w:
                    w["quantization"]["scale"] = value
                    return

    path = folder / "model.json"
    doc = json.loads(path.read_text())
    corrupt(doc)
    path.write_text(json.dumps(doc))  # Python's json writes NaN/Infinity tokens
    with pytest.raises(WeightsError, match="scale"):
        tfjs_infer.load_model(path)


def test_unknown_quantization_dtype(tmp_path: Path) -> None:
    folder = _copy(QUANT, tmp_path)

    def corrupt(doc: dict) -> None:
        for group in doc["weightsManifest"]:
            for w in group["weights"]:
                if "quantization" in w:
                    w["quantization"]["dtype"] = "int4"

    with pytest.raises(WeightsError, match="int4"):
        tfjs_infer.load_model(_edit(folder, corrupt))


def test_unknown_weight_dtype(tmp_path: Path) -> None:
    folder = _copy(MLP, tmp_path)
    path = _edit(
        folder, lambda d: d["weightsManifest"][0]["weights"][0].__setitem__("dtype", "complex128")
    )
    with pytest.raises(WeightsError, match="complex128"):
        tfjs_infer.load_model(path)


def test_duplicate_weight_name(tmp_path: Path) -> None:
    folder = _copy(MLP, tmp_path)

    def dup(doc: dict) -> None:
        ws = doc["weightsManifest"][0]["weights"]
        ws[1]["name"] = ws[0]["name"]

    with pytest.raises(WeightsError, match="twice"):
        tfjs_infer.load_model(_edit(folder, dup))


def test_unmatched_weight_reported(tmp_path: Path) -> None:
    folder = _copy(MLP, tmp_path)

    def rename(doc: dict) -> None:
        w = doc["weightsManifest"][0]["weights"][0]
        w["name"] = "unrelated_layer/" + w["name"].split("/")[-1]

    with pytest.raises(InvalidModelError, match=r"not found|match no layer"):
        tfjs_infer.load_model(_edit(folder, rename))


def test_unknown_layer_names_layer_and_class(tmp_path: Path) -> None:
    folder = _copy(MLP, tmp_path)

    def make_unknown(doc: dict) -> None:
        cfg = doc["modelTopology"]["model_config"]["config"]
        cfg["layers"][-1]["class_name"] = "FancyCustomLayer"

    with pytest.raises(UnsupportedLayerError, match=r"FancyCustomLayer.*supported-layers"):
        tfjs_infer.load_model(_edit(folder, make_unknown))


def test_lambda_layer_refused_without_executing(tmp_path: Path) -> None:
    folder = _copy(MLP, tmp_path)

    def make_lambda(doc: dict) -> None:
        cfg = doc["modelTopology"]["model_config"]["config"]
        cfg["layers"][-1]["class_name"] = "Lambda"
        cfg["layers"][-1]["config"]["function"] = ["raise SystemExit(3)", None, None]

    with pytest.raises(UnsupportedLayerError, match=r"Lambda.*never executes"):
        tfjs_infer.load_model(_edit(folder, make_lambda))


def test_missing_layer_config_key(tmp_path: Path) -> None:
    folder = _copy(MLP, tmp_path)

    def drop_units(doc: dict) -> None:
        cfg = doc["modelTopology"]["model_config"]["config"]
        for layer in cfg["layers"]:
            if layer["class_name"] == "Dense":
                layer["config"]["units"] = "many"
                return

    with pytest.raises(InvalidModelError, match="units"):
        tfjs_infer.load_model(_edit(folder, drop_units))


# -- inputs ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def mlp() -> tfjs_infer.Model:
    return tfjs_infer.load_model(MLP / "model.json")


def test_wrong_input_shape_names_input(mlp: tfjs_infer.Model) -> None:
    name = mlp.inputs[0].name
    width = mlp.inputs[0].shape[1]
    with pytest.raises(InputShapeError, match=rf"{name}.*\(None, {width}\).*\(4, {width + 1}\)"):
        mlp.predict(np.zeros((4, width + 1), np.float32))


def test_wrong_input_rank(mlp: tfjs_infer.Model) -> None:
    with pytest.raises(InputShapeError, match="expected shape"):
        mlp.predict(np.zeros((2, 3, 4, 5), np.float32))


@pytest.mark.parametrize("value", [np.array([["a", "b"]]), np.zeros((2, 3), np.complex64)])
def test_impossible_dtype(mlp: tfjs_infer.Model, value: np.ndarray) -> None:
    with pytest.raises(InputDtypeError, match="dtype"):
        mlp.predict(value)


def test_float64_and_int_inputs_are_cast(mlp: tfjs_infer.Model) -> None:
    width = mlp.inputs[0].shape[1]
    x = np.arange(3 * width).reshape(3, width) % 5
    a = mlp.predict(x.astype(np.float64))
    b = mlp.predict(x.astype(np.int64))
    c = mlp.predict(x.astype(np.float32))
    np.testing.assert_array_equal(a, c)
    np.testing.assert_array_equal(b, c)


def test_non_contiguous_input_is_accepted(mlp: tfjs_infer.Model) -> None:
    width = mlp.inputs[0].shape[1]
    x = np.random.default_rng(0).standard_normal((6, 2 * width)).astype(np.float32)
    view = x[:, ::2]
    np.testing.assert_array_equal(mlp.predict(view), mlp.predict(np.ascontiguousarray(view)))


def test_bad_batch_size(mlp: tfjs_infer.Model) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        mlp.predict(np.zeros((2, mlp.inputs[0].shape[1]), np.float32), batch_size=0)


def test_dict_input_missing_name() -> None:
    model = tfjs_infer.load_model(FIXTURES / "converter" / "functional_2in_2out" / "model.json")
    with pytest.raises(InputShapeError, match="missing input"):
        model.predict({"nope": np.zeros((1, 3), np.float32)})


def test_wrong_number_of_inputs() -> None:
    model = tfjs_infer.load_model(FIXTURES / "converter" / "functional_2in_2out" / "model.json")
    with pytest.raises(InputShapeError, match="input"):
        model.predict([np.zeros((1, model.inputs[0].shape[1]), np.float32)] * 3)


def test_mismatched_row_counts() -> None:
    model = tfjs_infer.load_model(FIXTURES / "converter" / "functional_2in_2out" / "model.json")
    xs = [
        np.zeros((n, *(d for d in t.shape[1:])), np.float32) for n, t in zip((2, 3), model.inputs)
    ]
    with pytest.raises(InputShapeError, match="rows"):
        model.predict(xs)


def test_embedding_id_out_of_range() -> None:
    model = tfjs_infer.load_model(FIXTURES / "converter" / "embedding" / "model.json")
    shape = [2 if d is None else d for d in model.inputs[0].shape]
    ids = np.zeros(shape, np.int32)
    ids[1, 0] = 10**6
    with pytest.raises(InputValueError, match=r"1000000.*not in \[0, "):
        model.predict(ids)
    ids[1, 0] = -1
    with pytest.raises(InputValueError, match="-1"):
        model.predict(ids)
