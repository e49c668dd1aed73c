"""load_model from bytes, file objects and zips (content sniffing in tfjs_infer.io)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

import tfjs_infer as ti
from fixture_utils import FIXTURES, check_model
from tfjs_infer.errors import InvalidModelError, WeightsError

SHARDED = FIXTURES / "converter" / "sharded"  # 7 shards
GROUPS = FIXTURES / "tfjs" / "topo_two_weight_groups"  # 2 groups, 3 shards
TM = FIXTURES / "tfjs" / "topo_tm_style"


def _shards(folder: Path) -> list[str]:
    doc = json.loads((folder / "model.json").read_text())
    return [p for g in doc["weightsManifest"] for p in g["paths"]]


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _folder_files(folder: Path, prefix: str = "") -> dict[str, bytes]:
    return {prefix + p.name: p.read_bytes() for p in folder.iterdir() if p.name != "io.json"}


@pytest.mark.parametrize("case", [SHARDED, GROUPS], ids=lambda p: p.name)
def test_model_json_bytes_with_weights_in_every_form(case: Path) -> None:
    text = (case / "model.json").read_bytes()
    shards = _shards(case)
    stream = b"".join((case / p).read_bytes() for p in shards)
    check_model(ti.load_model(text, weights=stream), case)
    check_model(ti.load_model(bytearray(text), weights=memoryview(stream)), case)
    check_model(ti.load_model(text, weights={p: (case / p).read_bytes() for p in shards}), case)
    check_model(
        ti.load_model(text, weights={"./" + p: (case / p).read_bytes() for p in shards}), case
    )
    check_model(ti.load_model(text, weights=case), case)
    check_model(ti.load_model(text, weights=str(case)), case)
    check_model(ti.load_model(io.BytesIO(text), weights=io.BytesIO(stream)), case)
    check_model(ti.load_model(text.decode("utf-8").encode("utf-8-sig"), weights=stream), case)


def test_model_json_bytes_errors() -> None:
    text = (SHARDED / "model.json").read_bytes()
    with pytest.raises(WeightsError, match="pass weights="):
        ti.load_model(text)
    stream = b"".join((SHARDED / p).read_bytes() for p in _shards(SHARDED))
    with pytest.raises(WeightsError, match="truncated"):
        ti.load_model(text, weights=stream[:-3])
    with pytest.raises(WeightsError, match="is not among the weights given"):
        ti.load_model(text, weights={"group1-shard1of7.bin": b""})
    with pytest.raises(TypeError, match="weights="):
        ti.load_model(text, weights=12345)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="only used when"):
        ti.load_model(SHARDED, weights=stream)
    with pytest.raises(InvalidModelError, match="unrecognised content"):
        ti.load_model(b"GIF89a....")
    with pytest.raises(InvalidModelError, match="not valid JSON"):
        ti.load_model(b"{nope", weights=b"")
    with pytest.raises(TypeError, match="takes a path"):
        ti.load_model(3.5)  # type: ignore[arg-type]


def test_binary_file_object(tmp_path: Path) -> None:
    data = _zip(_folder_files(TM))
    path = tmp_path / "tm.zip"
    path.write_bytes(data)
    with path.open("rb") as f:
        model = ti.load_model(f)
    check_model(model, TM)
    assert model.source.endswith("tm.zip:model.json")
    with pytest.raises(InvalidModelError, match="limit"):
        ti.load_model(io.BytesIO(data), max_bytes=100)


def test_zip_of_a_teachable_machine_folder(tmp_path: Path) -> None:
    files = _folder_files(TM, prefix="my-model/")
    files["my-model/metadata.json"] = json.dumps(
        {"labels": ["a", "b", "c"], "imageSize": 96}
    ).encode()
    files["__MACOSX/my-model/._model.json"] = b"junk"
    data = _zip(files)
    model = ti.load_model(data)
    check_model(model, TM)
    assert model.labels == ["a", "b", "c"]
    assert model.metadata["imageSize"] == 96
    (tmp_path / "export.zip").write_bytes(data)
    check_model(ti.load_model(tmp_path / "export.zip"), TM)  # a .zip path


def test_zip_with_several_weight_groups_and_labels_txt() -> None:
    files = _folder_files(GROUPS)
    model = ti.load_model(_zip(files))
    check_model(model, GROUPS)
    assert model.labels is None
    n = model.outputs[0].shape[-1]
    files["labels.txt"] = "".join(f"{i} name {i}\n" for i in range(n)).encode()
    assert ti.load_model(_zip(files)).labels == [f"name {i}" for i in range(n)]


def test_zip_safety() -> None:
    doc = json.loads((TM / "model.json").read_text())
    doc["weightsManifest"][0]["paths"] = ["../weights.bin"]
    evil = _zip(
        {"m/model.json": json.dumps(doc).encode(), "weights.bin": (TM / "weights.bin").read_bytes()}
    )
    with pytest.raises(WeightsError, match="leaves the model's folder"):
        ti.load_model(evil)
    missing = _zip({"model.json": (TM / "model.json").read_bytes()})
    with pytest.raises(WeightsError, match="missing from the zip"):
        ti.load_model(missing)
    two = _zip({"a/model.json": b"{}", "b/model.json": b"{}"})
    with pytest.raises(InvalidModelError, match=r"several model.json"):
        ti.load_model(two)
    with pytest.raises(InvalidModelError, match=r"no model.json"):
        ti.load_model(_zip({"readme.txt": b"hi"}))
    # A highly compressible member larger than the budget is refused before it is inflated.
    bomb = _zip({"model.json": (TM / "model.json").read_bytes(), "weights.bin": b"\0" * (8 << 20)})
    assert len(bomb) < 100_000
    with pytest.raises(InvalidModelError, match="over the limit"):
        ti.load_model(bomb, max_bytes=1 << 20)
    with pytest.raises(InvalidModelError, match="zip"):
        ti.load_model(b"PK\x03\x04" + b"\0" * 40)


def test_keras_content_is_recognised() -> None:
    """.keras zips and .h5 bytes are routed to the Keras reader (or a clear error without it)."""
    keras_zip = _zip({"config.json": b"{}", "metadata.json": b"{}", "model.weights.h5": b"x"})
    h5 = b"\x89HDF\r\n\x1a\n" + b"\0" * 64
    for data in (keras_zip, h5):
        with pytest.raises(InvalidModelError) as info:
            ti.load_model(data)
        assert "unrecognised content" not in str(info.value)


KERAS_H5 = FIXTURES / "keras2" / "mlp_sequential"  # tf_keras computed the references
KERAS_V3 = FIXTURES / "keras2" / "mlp_sequential_keras"


def test_keras_files_as_bytes_and_file_objects() -> None:
    h5 = (KERAS_H5 / "model.h5").read_bytes()
    check_model(ti.load_model(h5), KERAS_H5)
    check_model(ti.load_model(io.BytesIO(h5)), KERAS_H5)
    archive = (KERAS_V3 / "model.keras").read_bytes()
    model = ti.load_model(archive)
    check_model(model, KERAS_V3)
    assert model.source == "<bytes>"
    with (KERAS_V3 / "model.keras").open("rb") as f:
        check_model(ti.load_model(f), KERAS_V3)


def test_teachable_machine_keras_export_with_labels_txt(tmp_path: Path) -> None:
    n = ti.load_model(KERAS_H5 / "model.h5").outputs[0].shape[-1]
    labels_txt = "".join(f"{i} Class {i + 1}\n" for i in range(n)).encode()
    data = _zip({"keras_model.h5": (KERAS_H5 / "model.h5").read_bytes(), "labels.txt": labels_txt})
    model = ti.load_model(data)
    check_model(model, KERAS_H5)
    assert model.labels == [f"Class {i + 1}" for i in range(n)]
    # The unzipped export: labels.txt beside keras_model.h5.
    (tmp_path / "keras_model.h5").write_bytes((KERAS_H5 / "model.h5").read_bytes())
    (tmp_path / "labels.txt").write_bytes(labels_txt)
    assert ti.load_model(tmp_path / "keras_model.h5").labels == model.labels
