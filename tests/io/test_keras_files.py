"""Reading Keras model files: format detection, semantics, one architecture in
three formats, and every malformed-file path (each a named tfjs_infer error).

The good files are fixtures made by real Keras 3 / tf_keras
(tests/fixtures/keras3, tests/fixtures/keras2); bad files are derived from
them here by breaking one thing at a time.
"""

from __future__ import annotations

import builtins
import io
import json
import shutil
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

import tfjs_infer
from fixture_utils import FIXTURES, arrays, read_io
from tfjs_infer.errors import (
    InvalidModelError,
    MissingDependencyError,
    UnsupportedLayerError,
    WeightsError,
)
from tfjs_infer.io import read_model

K3 = FIXTURES / "keras3"
K2 = FIXTURES / "keras2"


def _predict(path: Path, case: Path) -> list[np.ndarray]:
    xs = arrays(read_io(case)["inputs"])
    got = tfjs_infer.load_model(path).predict(xs[0] if len(xs) == 1 else xs)
    if isinstance(got, dict):
        return list(got.values())
    return got if isinstance(got, list) else [got]


# -- formats and semantics ----------------------------------------------------------


@pytest.mark.parametrize(
    "path, semantics, fmt",
    [
        (K3 / "mlp_sequential" / "model.keras", "keras3", "keras"),
        (K3 / "mlp_sequential_h5" / "model.h5", "keras3", "keras-h5"),
        (K2 / "mlp_sequential" / "model.h5", "keras2", "keras-h5"),
        (K2 / "mlp_sequential_keras" / "model.keras", "keras2", "keras"),
    ],
)
def test_semantics_follow_the_file(path, semantics, fmt):
    spec = read_model(path)
    assert spec.semantics == semantics
    assert spec.format == fmt
    assert spec.keras_weights


def test_same_model_in_three_formats_gives_identical_outputs():
    case = K2 / "crossformat"
    outs = [_predict(case / name, case) for name in ("model.h5", "model.keras", "model.json")]
    # A converted file gets the numbers of the Keras that wrote it (issue 11).
    assert read_model(case / "model.json").semantics == "keras2"
    for other in outs[1:]:
        assert len(other) == len(outs[0])
        for a, b in zip(outs[0], other):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("case", ["mlp_sequential", "functional_multi", "nested", "embedding"])
def test_keras3_archive_and_h5_agree(case):
    a = _predict(K3 / case / "model.keras", K3 / case)
    b = _predict(K3 / f"{case}_h5" / "model.h5", K3 / case)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_weights_are_mapped_by_layer_path():
    spec = read_model(K3 / "nested" / "model.keras")
    keys = set(spec.keras_weights)
    assert ("inner_seq", "inner_dense") in keys
    assert ("inner_func", "f_dense") in keys
    names, arrays_ = spec.keras_weights[("inner_seq", "inner_bn")]
    assert names is None and len(arrays_) == 4
    spec = read_model(K2 / "nested" / "model.h5")
    names, arrays_ = spec.keras_weights[("inner_func", "f_bn")]
    assert [n.split("/")[-1] for n in names] == [
        "gamma:0",
        "beta:0",
        "moving_mean:0",
        "moving_variance:0",
    ]


# -- refused models -------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, words",
    [
        ("lambda", ["triple", "Lambda"]),
        ("custom_layer", ["doubler", "custom"]),
        ("subclassed", ["Subclassed"]),
        ("quantized_int8", ["dense_int8", "int8", "quantized"]),
    ],
)
def test_code_carrying_models_are_refused(name, words):
    with pytest.raises(UnsupportedLayerError) as err:
        tfjs_infer.load_model(K3 / "refused" / f"{name}.keras")
    for w in words:
        assert w in str(err.value)


def test_lambda_argument_is_refused(tmp_path):
    def edit(config):
        node = config["config"]["layers"][1]["inbound_nodes"][0]
        node["args"].append({"class_name": "__lambda__", "config": {"value": "..."}})

    bad = _rewrite_archive(K3 / "embedding" / "model.keras", tmp_path, config_edit=edit)
    with pytest.raises(UnsupportedLayerError, match="lambda"):
        tfjs_infer.load_model(bad)


# -- malformed archives ------------------------------------------------------------------


def _rewrite_archive(
    src: Path, tmp: Path, *, drop=(), replace=None, add=None, config_edit=None, name="bad.keras"
) -> Path:
    out = tmp / name
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            if info.filename in drop:
                continue
            data = zin.read(info.filename)
            if config_edit is not None and info.filename == "config.json":
                config = json.loads(data)
                config_edit(config)
                data = json.dumps(config).encode()
            if replace and info.filename in replace:
                data = replace[info.filename]
            zout.writestr(info.filename, data)
        for fname, data in (add or {}).items():
            zout.writestr(fname, data, compress_type=zipfile.ZIP_DEFLATED)
    return out


def _edit_weights(src: Path, edit) -> bytes:
    with zipfile.ZipFile(src) as z:
        data = z.read("model.weights.h5")
    buf = io.BytesIO(data)
    with h5py.File(buf, "r+") as f:
        edit(f)
    return buf.getvalue()


SRC = K3 / "mlp_sequential" / "model.keras"


def test_not_a_model_file(tmp_path):
    bad = tmp_path / "junk.keras"
    bad.write_bytes(b"this is not a zip or an hdf5 file")
    with pytest.raises(InvalidModelError, match="neither"):
        tfjs_infer.load_model(bad)


def test_truncated_zip(tmp_path):
    bad = tmp_path / "cut.keras"
    bad.write_bytes(SRC.read_bytes()[: SRC.stat().st_size // 2])
    with pytest.raises(InvalidModelError):
        tfjs_infer.load_model(bad)


def test_missing_config(tmp_path):
    with pytest.raises(InvalidModelError, match=r"config.json"):
        tfjs_infer.load_model(_rewrite_archive(SRC, tmp_path, drop=("config.json",)))


def test_missing_weights(tmp_path):
    with pytest.raises(WeightsError, match=r"model.weights.h5"):
        tfjs_infer.load_model(_rewrite_archive(SRC, tmp_path, drop=("model.weights.h5",)))


def test_config_not_json(tmp_path):
    bad = _rewrite_archive(SRC, tmp_path, replace={"config.json": b"{not json"})
    with pytest.raises(InvalidModelError, match="not valid JSON"):
        tfjs_infer.load_model(bad)


def test_truncated_weights_h5(tmp_path):
    with zipfile.ZipFile(SRC) as z:
        data = z.read("model.weights.h5")
    bad = _rewrite_archive(SRC, tmp_path, replace={"model.weights.h5": data[: len(data) // 3]})
    with pytest.raises(WeightsError):
        tfjs_infer.load_model(bad)


def test_unsafe_member_path(tmp_path):
    bad = _rewrite_archive(SRC, tmp_path, add={"../evil.txt": b"x"})
    with pytest.raises(InvalidModelError, match="unsafe path"):
        tfjs_infer.load_model(bad)


def test_oversized_member(tmp_path):
    big = b" " * ((64 << 20) + 1)
    bad = _rewrite_archive(SRC, tmp_path, drop=("config.json",), add={"config.json": big})
    with pytest.raises(InvalidModelError, match=r"config\.json is \d+ bytes"):
        tfjs_infer.load_model(bad)


def test_zip_bomb_member(tmp_path, monkeypatch):
    from tfjs_infer.io import keras as keras_io

    monkeypatch.setattr(keras_io, "BOMB_FLOOR", 1 << 20)
    pad = b'{"pad": "' + b" " * (4 << 20) + b'"}'
    bad = _rewrite_archive(SRC, tmp_path, drop=("config.json",), add={"config.json": pad})
    with pytest.raises(InvalidModelError, match="zip bomb"):
        tfjs_infer.load_model(bad)


def test_config_over_the_limit(tmp_path, monkeypatch):
    from tfjs_infer.io import keras as keras_io

    monkeypatch.setattr(keras_io, "MAX_CONFIG_BYTES", 100)
    with pytest.raises(InvalidModelError, match=r"config.json is"):
        tfjs_infer.load_model(SRC)


def test_wrong_weight_shape(tmp_path):
    def edit(f):
        del f["layers/dense/vars/0"]
        f["layers/dense/vars"].create_dataset("0", data=np.zeros((13, 25), np.float32))

    bad = _rewrite_archive(SRC, tmp_path, replace={"model.weights.h5": _edit_weights(SRC, edit)})
    with pytest.raises(InvalidModelError, match=r"d_relu.*\(13, 25\)"):
        tfjs_infer.load_model(bad)


def test_missing_weight(tmp_path):
    def edit(f):
        del f["layers/dense/vars/1"]

    bad = _rewrite_archive(SRC, tmp_path, replace={"model.weights.h5": _edit_weights(SRC, edit)})
    with pytest.raises(InvalidModelError, match=r"d_relu.*bias"):
        tfjs_infer.load_model(bad)


def test_gap_in_variable_indices(tmp_path):
    def edit(f):
        f["layers/dense/vars"].create_dataset("5", data=np.zeros((3,), np.float32))

    bad = _rewrite_archive(SRC, tmp_path, replace={"model.weights.h5": _edit_weights(SRC, edit)})
    with pytest.raises(WeightsError, match="layers/dense/vars"):
        tfjs_infer.load_model(bad)


def test_unused_weight_is_an_error(tmp_path):
    def edit(f):
        f["layers/dense/vars"].create_dataset("2", data=np.zeros((3,), np.float32))

    bad = _rewrite_archive(SRC, tmp_path, replace={"model.weights.h5": _edit_weights(SRC, edit)})
    with pytest.raises(WeightsError, match="not used"):
        tfjs_infer.load_model(bad)
    tfjs_infer.load_model(bad, strict=False)  # loads when the user opts out


def test_weights_of_another_layer(tmp_path):
    def edit(f):
        f["layers/dense/vars"].attrs["name"] = "someone_else"

    bad = _rewrite_archive(SRC, tmp_path, replace={"model.weights.h5": _edit_weights(SRC, edit)})
    with pytest.raises(WeightsError, match="someone_else"):
        tfjs_infer.load_model(bad)


def test_npz_weights_refused(tmp_path):
    bad = _rewrite_archive(
        SRC, tmp_path, drop=("model.weights.h5",), add={"model.weights.npz": b"PK"}
    )
    with pytest.raises(InvalidModelError, match="npz"):
        tfjs_infer.load_model(bad)


# -- malformed legacy .h5 ------------------------------------------------------------------

H5 = K2 / "mlp_sequential" / "model.h5"


def _copy_h5(tmp_path: Path, edit=None) -> Path:
    out = tmp_path / "bad.h5"
    shutil.copy(H5, out)
    if edit is not None:
        with h5py.File(out, "r+") as f:
            edit(f)
    return out


def test_truncated_h5(tmp_path):
    bad = tmp_path / "cut.h5"
    bad.write_bytes(H5.read_bytes()[: H5.stat().st_size // 2])
    with pytest.raises(WeightsError, match="HDF5"):
        tfjs_infer.load_model(bad)


def test_h5_without_model_config(tmp_path):
    with pytest.raises(InvalidModelError, match="model_config"):
        tfjs_infer.load_model(_copy_h5(tmp_path, lambda f: f.attrs.__delitem__("model_config")))


def test_h5_weights_only(tmp_path):
    def edit(f):
        del f.attrs["model_config"]
        f.attrs["layer_names"] = np.array([b"d_relu"])

    with pytest.raises(InvalidModelError, match="weights-only"):
        tfjs_infer.load_model(_copy_h5(tmp_path, edit))


def test_h5_listed_weight_missing(tmp_path):
    with pytest.raises(WeightsError, match=r"d_relu.*missing"):
        tfjs_infer.load_model(
            _copy_h5(tmp_path, lambda f: f["model_weights/d_relu/d_relu"].__delitem__("bias:0"))
        )


def test_h5_wrong_shape(tmp_path):
    def edit(f):
        g = f["model_weights/d_relu/d_relu"]
        del g["bias:0"]
        g.create_dataset("bias:0", data=np.zeros((7,), np.float32))

    with pytest.raises(InvalidModelError, match=r"d_relu.*\(7,\)"):
        tfjs_infer.load_model(_copy_h5(tmp_path, edit))


def test_h5_bad_config(tmp_path):
    with pytest.raises(InvalidModelError, match="not valid JSON"):
        tfjs_infer.load_model(
            _copy_h5(tmp_path, lambda f: f.attrs.__setitem__("model_config", "{"))
        )


def test_h5_chunked_weight_names(tmp_path):
    """Keras splits long attributes into weight_names0, weight_names1, ..."""

    def edit(f):
        g = f["model_weights/d_relu"]
        names = [n if isinstance(n, bytes) else n.encode() for n in g.attrs["weight_names"]]
        del g.attrs["weight_names"]
        g.attrs["weight_names0"] = np.array(names[:1])
        g.attrs["weight_names1"] = np.array(names[1:])

    case = K2 / "mlp_sequential"
    got = _predict(_copy_h5(tmp_path, edit), case)[0]
    np.testing.assert_array_equal(got, _predict(H5, case)[0])


# -- the optional dependency ---------------------------------------------------------------


def test_missing_h5py_names_the_extra(monkeypatch):
    real_import = builtins.__import__

    def no_h5py(name, *args, **kwargs):
        if name == "h5py" or name.startswith("h5py."):
            raise ImportError("No module named 'h5py'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_h5py)
    for path in (SRC, H5):
        with pytest.raises(MissingDependencyError, match=r"tfjs-infer\[keras\]"):
            tfjs_infer.load_model(path)
    with pytest.raises(ImportError):  # also an ImportError, for generic handlers
        tfjs_infer.load_model(SRC)


# -- layers with sub-objects: RNN cells, Bidirectional, TimeDistributed -----------------------


def _digests(arrays: list[np.ndarray]) -> list[list]:
    import hashlib

    return [
        [list(a.shape), hashlib.sha256(np.ascontiguousarray(a, np.float32).tobytes()).hexdigest()]
        for a in arrays
    ]


@pytest.mark.parametrize("family", ["keras3", "keras2"])
@pytest.mark.parametrize("fmt", ["keras", "h5"])
def test_sub_object_weights_in_keras_order(family, fmt):
    """Every layer's weights come out in Keras's own layer.weights order
    (forward before backward, stacked cells in order), from both formats."""
    folder = FIXTURES / family / "mapping"
    want = json.loads((folder / "weights.json").read_text())
    spec = read_model(folder / f"rnn_wrappers.{fmt}")
    for name, digests in want.items():
        _, arrays_ = spec.keras_weights.get((name,), (None, []))
        assert _digests(arrays_) == digests, f"{family} {fmt} layer {name}"


def test_tf_keras_213_layer_checkpoint_dependencies(tmp_path):
    """tf.keras 2.13-2.15 archives name the layer lists _layer_checkpoint_dependencies."""
    src = K2 / "mapping" / "rnn_wrappers.keras"

    def rename(f):
        def groups(g, prefix=""):
            for key in list(g):
                if isinstance(g[key], h5py.Group):
                    yield from groups(g[key], f"{prefix}{key}/")
                    if key == "layers":
                        yield f"{prefix}{key}"

        for path in list(groups(f)):  # deepest first
            parent, _, _ = path.rpartition("/")
            f.move(
                path,
                f"{parent}/_layer_checkpoint_dependencies"
                if parent
                else "_layer_checkpoint_dependencies",
            )

    bad = _rewrite_archive(src, tmp_path, replace={"model.weights.h5": _edit_weights(src, rename)})
    want = read_model(src).keras_weights
    got = read_model(bad).keras_weights
    assert got.keys() == want.keys()
    for key in want:
        assert _digests(got[key][1]) == _digests(want[key][1]), key


def test_archive_without_vars_names(tmp_path):
    """Archives from Keras before 3.6 have no name attribute on vars groups:
    the class-name walk alone must place every weight (GroupQueryAttention is
    saved under its Python class name GroupedQueryAttention)."""
    case = K3 / "grouped_query_attention"
    src = case / "model.keras"

    def strip(f):
        def visit(name, obj):
            if isinstance(obj, h5py.Group) and "name" in obj.attrs:
                del obj.attrs["name"]

        f.visititems(visit)
        if "name" in f["vars"].attrs:
            del f["vars"].attrs["name"]

    bad = _rewrite_archive(src, tmp_path, replace={"model.weights.h5": _edit_weights(src, strip)})
    for a, b in zip(_predict(bad, case), _predict(src, case)):
        np.testing.assert_array_equal(a, b)


def test_bfloat16_variables_are_widened(tmp_path):
    """Keras stores a bfloat16 variable as its raw 16 bits with dtype="bfloat16"."""
    case = K3 / "mlp_sequential"

    def kernel_to_bf16(f, raw):
        ds = f["layers/dense/vars/0"]
        bits = np.asarray(ds[()], np.float32).view(np.uint32) & np.uint32(0xFFFF0000)
        del f["layers/dense/vars/0"]
        if raw:
            new = f["layers/dense/vars"].create_dataset("0", data=(bits >> 16).astype(np.uint16))
            new.attrs["dtype"] = "bfloat16"
        else:
            f["layers/dense/vars"].create_dataset("0", data=bits.view(np.float32))

    raw = _rewrite_archive(
        SRC,
        tmp_path,
        name="raw.keras",
        replace={"model.weights.h5": _edit_weights(SRC, lambda f: kernel_to_bf16(f, True))},
    )
    wide = _rewrite_archive(
        SRC,
        tmp_path,
        name="wide.keras",
        replace={"model.weights.h5": _edit_weights(SRC, lambda f: kernel_to_bf16(f, False))},
    )
    np.testing.assert_array_equal(_predict(raw, case)[0], _predict(wide, case)[0])
