"""The auto decision on each kind of file, the forced choices, and how the
choice travels (summary, CLI, pickling)."""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest

import tfjs_infer
from fixture_utils import FIXTURES, arrays, read_io
from tfjs_infer.cli import main
from tfjs_infer.io.provenance import keras_flavor, model_json_provenance

TFJS_SAVED = FIXTURES / "tfjs" / "dense_mlp"
TEACHABLE_MACHINE = FIXTURES / "tfjs_pool" / "teachable_machine"
ML5_BARE_LIST = FIXTURES / "tfjs" / "topo_legacy_sequential_list"
CONVERTED_K2 = FIXTURES / "converter" / "leaky_relu"
CONVERTED_K3 = FIXTURES / "semantics" / "k3_hard_sigmoid"
DIVERGENT_K2 = FIXTURES / "semantics" / "k2_relu_slope"


def _load(path: Path, **kw) -> tfjs_infer.Model:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tfjs_infer.SemanticsWarning)
        return tfjs_infer.load_model(path, **kw)


@pytest.mark.parametrize(
    ("folder", "chosen", "why"),
    [
        (TFJS_SAVED, "tfjs", "written by TF.js"),
        (TEACHABLE_MACHINE, "tfjs", "written by TF.js"),
        (ML5_BARE_LIST, "tfjs", "written by TF.js"),
        (CONVERTED_K2, "keras2", "converted from Keras"),
        (CONVERTED_K3, "keras3", "Keras 3 config dialect"),
    ],
    ids=[
        "tfjs-saved",
        "teachable-machine",
        "ml5-bare-list",
        "converted-tf-keras",
        "converted-keras3",
    ],
)
def test_auto_decision_by_provenance(folder: Path, chosen: str, why: str) -> None:
    model = _load(folder / "model.json")
    assert model.semantics.chosen == chosen
    assert model.semantics.requested == "auto"
    assert why in model.semantics.reason
    assert str(model.semantics).startswith(
        {"tfjs": "TF.js 4.22", "keras2": "Keras 2", "keras3": "Keras 3"}[chosen]
    )


def test_ml5_bare_list_gives_tfjs_numbers() -> None:
    io = read_io(ML5_BARE_LIST)
    model = _load(ML5_BARE_LIST / "model.json")
    got = model.predict(arrays(io["inputs"])[0])
    np.testing.assert_allclose(got, arrays(io["outputs"])[0], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    ("path", "chosen"),
    [
        (FIXTURES / "keras2" / "mlp_sequential" / "model.h5", "keras2"),
        (FIXTURES / "keras3" / "mlp_sequential" / "model.keras", "keras3"),
    ],
)
def test_keras_files_as_before(path: Path, chosen: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", tfjs_infer.SemanticsWarning)
        model = tfjs_infer.load_model(path)
    assert model.semantics.chosen == chosen
    assert "written by Keras" in model.semantics.reason


def test_forced_choices() -> None:
    assert _load(CONVERTED_K2 / "model.json", semantics="tfjs").semantics.chosen == "tfjs"
    assert _load(TFJS_SAVED / "model.json", semantics="keras").semantics.chosen == "keras2"
    forced = _load(TFJS_SAVED / "model.json", semantics="tfjs").semantics
    assert (forced.chosen, forced.requested) == ("tfjs", "tfjs")
    # A Keras 3 file under "tfjs": TF.js cannot load Keras 3 configs.
    k3 = _load(FIXTURES / "keras3" / "mlp_sequential" / "model.keras", semantics="tfjs").semantics
    assert k3.chosen == "keras3" and k3.tfjs_error


def test_bad_choice_is_refused() -> None:
    with pytest.raises(ValueError, match="semantics must be one of"):
        tfjs_infer.load_model(TFJS_SAVED / "model.json", semantics="torch")


def test_summary_shows_the_semantics() -> None:
    text = _load(DIVERGENT_K2 / "model.json").summary(print_fn=None)
    assert "Semantics: Keras 2 (auto: a model.json converted from Keras" in text


def test_pickle_keeps_the_requested_semantics() -> None:
    model = _load(DIVERGENT_K2 / "model.json", semantics="tfjs")
    with warnings.catch_warnings():
        warnings.simplefilter("error", tfjs_infer.SemanticsWarning)  # workers stay quiet
        clone = pickle.loads(pickle.dumps(model))
    assert clone.semantics == model.semantics
    x = arrays(read_io(DIVERGENT_K2)["inputs"])[0]
    np.testing.assert_array_equal(clone.predict(x), model.predict(x))
    tfjs_ref = arrays(read_io(DIVERGENT_K2)["tfjs"]["outputs"])[0]
    np.testing.assert_allclose(clone.predict(x), tfjs_ref, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("choice", ["auto", "tfjs", "keras"])
def test_cli_semantics_option(choice: str, capsys: pytest.CaptureFixture[str]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tfjs_infer.SemanticsWarning)
        assert main(["summary", str(DIVERGENT_K2 / "model.json"), "--semantics", choice]) == 0
    out = capsys.readouterr().out
    want = "TF.js 4.22 (semantics='tfjs')" if choice == "tfjs" else "Keras 2 ("
    assert "Semantics: " + want in out


@pytest.mark.parametrize(
    ("doc", "semantics"),
    [
        (
            {
                "generatedBy": "TensorFlow.js tfjs-layers v4.22.0",
                "modelTopology": {"keras_version": "tfjs-layers 4.22.0"},
            },
            "tfjs",
        ),
        ({"generatedBy": "TensorFlow.js tfjs-layers v1.7.4", "modelTopology": {}}, "tfjs"),
        ({"modelTopology": {"class_name": "Sequential"}}, "tfjs"),
        (
            {
                "generatedBy": "keras v2.4.0",
                "convertedBy": "TensorFlow.js Converter v2.8.0",
                "modelTopology": {"keras_version": "2.4.0"},
            },
            "keras2",
        ),
        (
            {
                "generatedBy": "keras v3.15.1",
                "convertedBy": "TensorFlow.js Converter v4.22.0",
                "modelTopology": {"keras_version": "3.15.1"},
            },
            "keras3",
        ),
        ({"convertedBy": "TensorFlow.js Converter v1.0.0", "modelTopology": {}}, "keras2"),
        ({"modelTopology": {"keras_version": "2.2.4"}}, "keras2"),
    ],
)
def test_model_json_provenance(doc: dict, semantics: str) -> None:
    assert model_json_provenance(doc, keras3_dialect=False)[0] == semantics


def test_keras_flavor() -> None:
    assert keras_flavor("3.15.1") == "keras3"
    assert keras_flavor("keras v3.0.0") == "keras3"
    assert keras_flavor("2.21.0") == "keras2"
    assert keras_flavor("tfjs-layers 4.22.0") == "keras2"
    assert keras_flavor(None) == "keras2"
