"""Labels and metadata: Teachable Machine metadata.json, labels.txt, userDefinedMetadata,
model.labels / model.metadata / model.predict_labels."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

import tfjs_infer as ti
from fixture_utils import FIXTURES, arrays, read_io
from tfjs_infer.errors import InputShapeError
from tfjs_infer.io.sidecar import parse_labels_txt

TM_CASE = FIXTURES / "tfjs" / "topo_tm_style"  # made by TF.js 4.22: 3-class softmax head
TM_LABELS = ["Class 1", "Class 2", "Background Noise"]
TM_METADATA = {
    "tfjsVersion": "1.3.1",
    "tmVersion": "2.4.7",
    "packageVersion": "0.8.4",
    "packageName": "@teachablemachine/image",
    "timeStamp": "2024-01-01T00:00:00.000Z",
    "userMetadata": {},
    "modelName": "tm-my-image-model",
    "labels": TM_LABELS,
    "imageSize": 224,
}


def _copy_case(tmp_path: Path, case: Path = TM_CASE) -> Path:
    dst = tmp_path / case.name
    shutil.copytree(case, dst)
    return dst


def _reference_classes(case: Path) -> list[int]:
    ref = arrays(read_io(case)["outputs"])[0]  # TF.js's own probabilities
    return ref.argmax(axis=-1).tolist()


def test_teachable_machine_metadata_gives_labels(tmp_path: Path) -> None:
    folder = _copy_case(tmp_path)
    (folder / "metadata.json").write_text(json.dumps(TM_METADATA))
    model = ti.load_model(folder)
    assert model.labels == TM_LABELS
    assert model.metadata["packageName"] == "@teachablemachine/image"
    assert model.metadata["imageSize"] == 224
    x = arrays(read_io(folder)["inputs"])[0]
    expected = [TM_LABELS[i] for i in _reference_classes(folder)]
    assert model.predict_labels(x) == expected
    top2 = model.predict_labels(x, k=2)
    assert [row[0] for row in top2] == expected
    assert all(len(row) == 2 and row[0] != row[1] for row in top2)
    r = ti.top_k(model.predict(x), 3, labels=model.labels)
    assert [row[0] for row in r.labels] == expected
    assert "Labels:  3 (Class 1, Class 2, Background Noise)" in model.summary(print_fn=None)


def test_audio_metadata_word_labels(tmp_path: Path) -> None:
    folder = _copy_case(tmp_path)
    meta = {
        "tfjsSpeechCommandsVersion": "0.4.0",
        "modelName": "m",
        "wordLabels": ["_bg", "yes", "no"],
    }
    (folder / "metadata.json").write_text(json.dumps(meta))
    assert ti.load_model(folder).labels == ["_bg", "yes", "no"]


def test_labels_txt_of_the_keras_export(tmp_path: Path) -> None:
    folder = _copy_case(tmp_path)
    (folder / "labels.txt").write_text("1 Class 2\n0 Class 1\n2 Background Noise\n")
    model = ti.load_model(folder / "model.json")
    assert model.labels == TM_LABELS
    assert model.metadata == {}


def test_parse_labels_txt_variants() -> None:
    assert parse_labels_txt(b"0 a b c\r\n1  d\n\n") == ["a b c", "d"]
    assert parse_labels_txt("\ufeffcat\nhot dog\n".encode()) == ["cat", "hot dog"]
    assert parse_labels_txt(b"") is None
    with pytest.warns(UserWarning, match="indices must be 0 to 1"):
        assert parse_labels_txt(b"0 a\n0 b\n") is None
    with pytest.warns(UserWarning, match="UTF-8"):
        assert parse_labels_txt(b"\xff\xfe\x00") is None


def test_user_defined_metadata_in_model_json(tmp_path: Path) -> None:
    folder = _copy_case(tmp_path)
    doc = json.loads((folder / "model.json").read_text())
    doc["userDefinedMetadata"] = {"labels": ["x", "y", "z"], "author": "me"}
    (folder / "model.json").write_text(json.dumps(doc))
    (folder / "metadata.json").write_text(json.dumps(TM_METADATA))
    model = ti.load_model(folder)
    assert model.labels == ["x", "y", "z"]  # the model file wins over the sidecar
    assert model.metadata["user_defined"] == {"labels": ["x", "y", "z"], "author": "me"}
    assert model.metadata["modelName"] == "tm-my-image-model"
    doc["userDefinedMetadata"] = {"metadata": {"labels": ["p", "q", "r"]}}
    (folder / "model.json").write_text(json.dumps(doc))
    assert ti.load_model(folder).labels == ["p", "q", "r"]
    doc["userDefinedMetadata"] = {"metadata": "not a dict"}
    (folder / "model.json").write_text(json.dumps(doc))
    assert ti.load_model(folder).labels == TM_LABELS


def test_bad_sidecars_warn_but_load(tmp_path: Path) -> None:
    folder = _copy_case(tmp_path)
    (folder / "metadata.json").write_text("{not json")
    with pytest.warns(UserWarning, match="metadata.json"):
        model = ti.load_model(folder)
    assert model.labels is None
    (folder / "metadata.json").write_text(json.dumps({"labels": ["only", "two"]}))
    with pytest.warns(UserWarning, match="2 labels were found but no output has 2 classes"):
        ti.load_model(folder)


def test_bundled_example_has_labels_and_no_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = ti.load_model(ti.examples.digits_path())
    assert model.labels == [str(i) for i in range(10)]
    x, y = ti.examples.digits_samples()
    info = ti.examples.digits_info()
    got = model.predict_labels(x)
    accuracy = np.mean(np.array(got) == y.astype(str))
    assert abs(accuracy - info["keras_accuracy"]) < 1e-12  # Keras measured it


def test_predict_labels_without_labels_and_with_override() -> None:
    from fixture_utils import FIXTURES as F

    case = F / "tfjs" / "dense_softmax"
    model = ti.load_model(case)
    assert model.labels is None
    x = arrays(read_io(case)["inputs"])[0]
    ref = _reference_classes(case)
    assert model.predict_labels(x) == [str(i) for i in ref]
    n = model.outputs[0].shape[-1]
    names = [f"c{i}" for i in range(n)]
    assert model.predict_labels(x, labels=names) == [names[i] for i in ref]


def test_predict_labels_on_a_multi_output_model() -> None:
    case = FIXTURES / "tfjs" / "topo_two_in_two_out"
    model = ti.load_model(case)
    xs = arrays(read_io(case)["inputs"])
    refs = arrays(read_io(case)["outputs"])
    with pytest.raises(InputShapeError, match="several outputs"):
        model.predict_labels(xs)
    for j, ref in enumerate(refs):
        want = [str(i) for i in ref.argmax(axis=-1)]
        assert model.predict_labels(xs, output=j) == want
        assert model.predict_labels(xs, output=model.outputs[j].name) == want
    # Labels that fit only one output choose it.
    names = [f"k{i}" for i in range(refs[1].shape[-1])]
    assert model.predict_labels(xs, labels=names) == [names[i] for i in refs[1].argmax(-1)]
    with pytest.raises(InputShapeError, match="no output named"):
        model.predict_labels(xs, output="nope")
    with pytest.raises(InputShapeError, match="out of range"):
        model.predict_labels(xs, output=5)
