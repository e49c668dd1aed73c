"""One test per finding of issue #16 (the HTTP ones are in test_http_faults.py):
each damaged or absurd input must end, in bounded time, in a tfjs_infer
error that names the file, layer or field, what was expected and what was found.
"""

from __future__ import annotations

import errno
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

import tfjs_infer as ti
from fixture_utils import FIXTURES
from tfjs_infer.errors import InvalidArgumentError, InvalidModelError, WeightsError
from tfjs_infer.io.memory import read_stream

TM = FIXTURES / "tfjs" / "topo_tm_style"
KERAS3 = FIXTURES / "keras3" / "embedding" / "model.keras"
H5 = FIXTURES / "keras3" / "embedding_h5" / "model.h5"
H5_K2 = FIXTURES / "keras2" / "sequential_in_sequential" / "model.h5"


def _zero_global_heap(data: bytes) -> bytes:
    """256 zero bytes over the first global heap collection's objects (the reported hang)."""
    at = data.find(b"GCOL")
    assert at >= 0
    return data[: at + 16] + bytes(256) + data[at + 16 + 256 :]


def _load_in_child(path: Path, timeout: float = 120) -> str:
    """load_model in a child process (a regression would hang inside libhdf5 for ever)."""
    code = (
        "import sys, tfjs_infer as ti\n"
        "try:\n"
        "    ti.load_model(sys.argv[1])\n"
        "except ti.TfjsInferError as exc:\n"
        "    print(type(exc).__name__ + ': ' + str(exc))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_corrupt_hdf5_global_heap_is_refused_not_a_hang(tmp_path: Path) -> None:
    bad = tmp_path / "model.h5"
    bad.write_bytes(_zero_global_heap(H5.read_bytes()))
    out = _load_in_child(bad)
    assert "InvalidModelError" in out and "global heap collection" in out, out
    assert "loop forever" in out and str(bad) in out


def test_corrupt_global_heap_inside_a_keras_archive(tmp_path: Path) -> None:
    with zipfile.ZipFile(KERAS3) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    members["model.weights.h5"] = _zero_global_heap(members["model.weights.h5"])
    bad = tmp_path / "model.keras"
    with zipfile.ZipFile(bad, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    out = _load_in_child(bad)
    assert "model.weights.h5: the HDF5 global heap collection" in out, out


def test_intact_hdf5_files_pass_the_heap_check() -> None:
    for path in (H5, H5_K2):
        ti.load_model(path)


def _sequential(layers: list[dict[str, Any]], shape: list[Any]) -> bytes:
    inp = {"class_name": "InputLayer", "config": {"batch_input_shape": shape, "name": "x"}}
    config = {"name": "m", "layers": [inp, *layers]}
    topology = {"class_name": "Sequential", "config": config}
    return json.dumps({"modelTopology": topology, "weightsManifest": []}).encode()


@pytest.mark.parametrize(
    ("layers", "shape", "found"),
    [
        ([], [None, 2147483647], r"input 'x'.*batch_input_shape \[None, 2147483647\].*8\.0 GiB"),
        ([], [None, 10**6, 10**6], r"batch_input_shape \[None, 1000000, 1000000\].*3,725\.3 GiB"),
        (
            [{"class_name": "CategoryEncoding", "config": {"num_tokens": 2**31 - 1, "name": "c"}}],
            [None, 1],
            r"layer 'c' \(CategoryEncoding\).*num_tokens = 2147483647.*8\.0 GiB",
        ),
    ],
)
def test_absurd_declared_sizes_are_refused_before_allocation(
    layers: list[dict[str, Any]], shape: list[Any], found: str
) -> None:
    with pytest.raises(InvalidModelError, match=found + r" per row; expected at most 2\.0 GiB"):
        ti.load_model(_sequential(layers, shape))


def test_stride_too_large_for_the_core_names_the_field() -> None:
    pool = {"pool_size": [2, 2], "strides": [10**30, 10**30], "name": "p"}
    data = _sequential([{"class_name": "MaxPooling2D", "config": pool}], [None, 8, 8, 1])
    with pytest.raises(InvalidModelError, match=r"layer 'p' \(MaxPooling2D\): config 'strides'"):
        ti.load_model(data)


def _tm_doc() -> dict[str, Any]:
    return json.loads((TM / "model.json").read_bytes())


def _load_doc(doc: Any, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    shutil.copytree(TM, folder, dirs_exist_ok=True)
    (folder / "model.json").write_text(json.dumps(doc) if not isinstance(doc, str) else doc)
    ti.load_model(folder / "model.json")


def test_deep_json_nesting(tmp_path: Path) -> None:
    deep = '{"modelTopology": ' + "[" * 100_000 + "]" * 100_000 + "}"
    with pytest.raises(InvalidModelError, match=r"model\.json nests JSON .* too deeply"):
        _load_doc(deep, tmp_path)
    doc = _tm_doc()
    doc["modelTopology"]["config"]["layers"][0]["config"]["extra"] = json.loads(
        "[" * 500 + "]" * 500
    )
    with pytest.raises(InvalidModelError, match=r"levels deep or more; expected at most 100"):
        _load_doc(doc, tmp_path)


def test_deep_nesting_in_keras_files(tmp_path: Path) -> None:
    with zipfile.ZipFile(KERAS3) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    members["config.json"] = b"[" * 100_000 + b"]" * 100_000
    bad = tmp_path / "model.keras"
    with zipfile.ZipFile(bad, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    with pytest.raises(InvalidModelError, match=r"config\.json nests JSON .* too deeply"):
        ti.load_model(bad)
    h5 = tmp_path / "model.h5"
    shutil.copy(H5_K2, h5)
    with h5py.File(h5, "r+") as f:
        f.attrs["model_config"] = "[" * 5000 + "]" * 5000
    with pytest.raises(InvalidModelError, match=r"model_config nests JSON .* too deeply"):
        ti.load_model(h5)


@pytest.mark.parametrize(
    ("path", "value", "found"),
    [
        (
            ("layers", 0),
            7,
            r"the model \(Sequential\): layer 0 must be an object, found a number 7",
        ),
        (("layers", 0, "class_name"), 3, r"'class_name' must be a string, found a number 3"),
        (("layers", 0, "config"), [1], r"layer 0 \(Model\): 'config' must be an object"),
        (("layers",), {"a": 1}, r"'layers' must be an array, found an object"),
        (
            ("layers", 0, "config", "layers", 1, "inbound_nodes"),
            5,
            r"layer 'base_dense': 'inbound_nodes' must be an array of arrays or objects",
        ),
        (
            ("layers", 0, "config", "layers", 1, "inbound_nodes"),
            [3],
            r"layer 'base_dense': 'inbound_nodes' must be an array",
        ),
        (("layers", 0, "name"), ["x"], r"'name' must be a string, found an array"),
    ],
)
def test_wrong_json_types_in_the_topology(
    tmp_path: Path, path: tuple[Any, ...], value: Any, found: str
) -> None:
    doc = _tm_doc()
    node = doc["modelTopology"]["config"]
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(InvalidModelError, match=found):
        _load_doc(doc, tmp_path)


def test_a_lowering_tripping_on_a_config_value_names_the_layer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The safety net under every lowering: a config value of a type no check
    # anticipated (here simulated) becomes an InvalidModelError naming the layer.
    from tfjs_infer.frontend import registry

    def trips(layer: Any, builder: Any) -> Any:
        return layer.config["units"]["size"]  # TypeError: int is not subscriptable

    monkeypatch.setitem(registry._LOWERINGS, "Dense", trips)
    with pytest.raises(
        InvalidModelError,
        match=r"layer 'base_dense' \(Dense\): its config cannot be lowered \(TypeError",
    ) as info:
        _load_doc(_tm_doc(), tmp_path)
    assert isinstance(info.value.__cause__, TypeError)


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_symlink_loop_shard(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    shutil.copytree(TM, folder)
    (folder / "weights.bin").unlink()
    os.symlink("weights.bin", folder / "weights.bin")
    with pytest.raises(WeightsError, match=r"weight shard path 'weights\.bin' cannot be resolved"):
        ti.load_model(folder)


def _patched_zip(source: bytes, member: str, *, method: int | None = None, flag: int = 0) -> bytes:
    """`source` with `member`'s compression method replaced or a flag bit set, in both headers."""
    buf = bytearray(source)
    with zipfile.ZipFile(io.BytesIO(source)) as zf:
        info = zf.getinfo(member)
    local = info.header_offset
    central = buf.find(b"PK\x01\x02")
    while central >= 0 and buf[central + 46 : central + 46 + len(member)] != member.encode():
        central = buf.find(b"PK\x01\x02", central + 4)
    for at, method_at, flag_at in ((local, 8, 6), (central, 10, 8)):
        if method is not None:
            buf[at + method_at : at + method_at + 2] = method.to_bytes(2, "little")
        buf[at + flag_at] |= flag
    return bytes(buf)


@pytest.mark.parametrize(
    ("method", "flag", "found"),
    [(99, 0, "compression method"), (None, 1, "encrypted")],
)
def test_zip_members_with_unknown_compression_or_encryption(
    tmp_path: Path, method: int | None, flag: int, found: str
) -> None:
    bad = tmp_path / "model.keras"
    bad.write_bytes(_patched_zip(KERAS3.read_bytes(), "config.json", method=method, flag=flag))
    with pytest.raises(InvalidModelError, match=rf"member config\.json cannot be read.*{found}"):
        ti.load_model(bad)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for p in TM.iterdir():
            zf.write(p, p.name)
    patched = _patched_zip(buf.getvalue(), "model.json", method=method, flag=flag)
    with pytest.raises(InvalidModelError, match=rf"cannot read member 'model\.json'.*{found}"):
        ti.load_model(patched)


def test_non_utf8_weight_names_in_h5(tmp_path: Path) -> None:
    bad = tmp_path / "model.h5"
    shutil.copy(H5_K2, bad)
    with h5py.File(bad, "r+") as f:
        group = f["model_weights/first"]
        names = [b"\xff\xfe/kernel:0", b"first/bias:0"]
        group.attrs.create("weight_names", names, dtype=h5py.string_dtype("utf-8"))
    with pytest.raises(WeightsError, match=r"layer 'first': weight name .* is not valid UTF-8"):
        ti.load_model(bad)


@pytest.mark.parametrize("value", ["2", 2.5, 0, -1, True, [2]])
def test_num_threads_is_validated(value: Any) -> None:
    with pytest.raises(InvalidArgumentError, match=r"^num_threads must be a positive integer") as e:
        ti.load_model(ti.examples.digits_path(), num_threads=value)
    assert repr(value) in str(e.value)
    model = ti.load_model(ti.examples.digits_path(), num_threads=1)
    with pytest.raises(InvalidArgumentError, match=r"^num_threads must be"):
        model.num_threads = value
    assert model.num_threads == 1
    assert isinstance(e.value, ValueError) and isinstance(e.value, TypeError)


def test_load_model_arguments_are_validated() -> None:
    path = ti.examples.digits_path()
    for kwargs, found in [
        ({"isa": 2}, r"^isa must be a string"),
        ({"strict": "yes"}, r"^strict must be True or False"),
        ({"headers": {"a": 1}}, r"^headers must be a dict of strings"),
        ({"max_bytes": 1.5}, r"^max_bytes must be a positive integer"),
    ]:
        with pytest.raises(InvalidArgumentError, match=found):
            ti.load_model(path, **kwargs)


def test_stateful_batch_size_mismatch_is_named() -> None:
    folder = FIXTURES / "keras_rnn" / "k2_stateful_gru_stack"
    model_file = json.loads((folder / "io.json").read_text()).get("model_file", "model.json")
    model = ti.load_model(folder / model_file)
    fixed = model._states[0].shape[0]
    x = np.zeros((fixed, *model.inputs[0].shape[1:]), np.float32)
    with pytest.raises(InvalidArgumentError, match=rf"batch_size must be {fixed} \(or None\)"):
        model.predict(x, batch_size=fixed + 1)


def test_missing_model_path_is_also_file_not_found(tmp_path: Path) -> None:
    for missing in (tmp_path / "nope.h5", tmp_path / "nope" / "model.json", tmp_path / "x.keras"):
        with pytest.raises(FileNotFoundError) as info:
            ti.load_model(missing)
        assert isinstance(info.value, ti.InvalidModelError)
        assert info.value.errno == errno.ENOENT
        assert str(info.value).startswith(str(missing))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ti.ModelNotFoundError, match=r"the folder has no model\.json"):
        ti.load_model(tmp_path / "empty")


def test_dir_of_the_package_is_clean() -> None:
    assert "annotations" not in dir(ti)


def test_read_stream_reads_in_bounded_chunks() -> None:
    asked: list[int] = []

    class Recorder(io.BytesIO):
        def read(self, n: int | None = -1) -> bytes:
            asked.append(-1 if n is None else n)
            return super().read(n)

    data = read_stream(Recorder(b"x" * 100), 4 << 30, "stream")
    assert data == b"x" * 100
    assert max(asked) <= (16 << 20)  # never the whole 4 GiB limit at once
    with pytest.raises(InvalidModelError, match="larger than the limit of 10 bytes"):
        read_stream(io.BytesIO(b"x" * 100), 10, "stream")


def test_wrong_source_and_weights_types_are_named() -> None:
    with pytest.raises(InvalidArgumentError, match=r"takes a path, .* received int"):
        ti.load_model(42)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match=r"weights= must be bytes, .* received int"):
        ti.load_model((TM / "model.json").read_bytes(), weights=42)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match=r"weights= is only used"):
        ti.load_model(TM, weights=b"")


@pytest.mark.parametrize("at", [0, 58, 61, 62, 63, 64, 65, 130])
def test_heap_check_finds_collections_across_chunk_boundaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, at: int
) -> None:
    from tfjs_infer.io import hdf5_guard

    monkeypatch.setattr(hdf5_guard, "_SCAN_CHUNK", 64)  # many chunks in a small file
    collection = b"GCOL\x01\0\0\0" + (4096).to_bytes(8, "little") + bytes(4096)
    path = tmp_path / "heap.bin"
    path.write_bytes(b"\xff" * at + collection + b"\xff" * 100)
    with pytest.raises(InvalidModelError, match=rf"collection at byte {at} is corrupt"):
        hdf5_guard.check_global_heaps_file(path)
    with pytest.raises(InvalidModelError, match=rf"collection at byte {at} is corrupt"):
        hdf5_guard.check_global_heaps(path.read_bytes(), str(path))
    # A well-formed collection: one 8-byte object, then free space to the end.
    good = bytearray(collection)
    good[16:32] = (1).to_bytes(2, "little") + bytes(6) + (8).to_bytes(8, "little")
    good[40:56] = bytes(8) + (4096 - 40).to_bytes(8, "little")
    path.write_bytes(b"\xff" * at + bytes(good) + b"\xff" * 100)
    hdf5_guard.check_global_heaps_file(path)
