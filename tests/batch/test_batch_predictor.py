"""BatchPredictor in process: every batch type, pickling, top_k, errors.

Outputs must equal in-process ``Model.predict`` bitwise; the multi-input /
multi-output fixture is also compared with the outputs real TF.js computed.
"""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from batch_utils import DIGITS, digits_rows, digits_zip_bytes, reference

import tfjs_infer as ti
from fixture_utils import ATOL, FIXTURES, RTOL, arrays, read_io
from tfjs_infer.batch import predictor as predictor_module

TWO = FIXTURES / "tfjs" / "topo_two_in_two_out"  # inputs b (3), a (5); outputs out_sum, out_cat


def fixed_list(x: np.ndarray) -> pa.FixedSizeListArray:
    return pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), x.shape[1])


def test_dict_of_numpy_keeps_columns_and_adds_outputs() -> None:
    x, ids = digits_rows(100)
    out = ti.BatchPredictor(str(DIGITS))({"pixels": x, "id": ids})
    assert list(out) == ["pixels", "id", "probs"]
    assert out["pixels"] is x and out["id"] is ids  # received columns pass through
    assert out["probs"].dtype == np.float32
    np.testing.assert_array_equal(out["probs"], reference(x))


def test_pandas_list_cells_and_feature_columns() -> None:
    x, ids = digits_rows(50)
    ref = reference(x)
    frame = pd.DataFrame({"id": ids, "pixels": list(x)}, index=np.arange(50)[::-1])
    out = ti.BatchPredictor(DIGITS)(frame)
    assert list(out.columns) == ["id", "pixels", "probs"]
    assert out.index.tolist() == frame.index.tolist() and out["id"].tolist() == ids.tolist()
    assert out["id"].dtype == np.int64
    np.testing.assert_array_equal(np.stack(out["probs"].to_numpy()), ref)
    assert all(cell.dtype == np.float32 for cell in out["probs"])
    # Feature columns, in a chosen order (reversed columns, reversed back).
    features = pd.DataFrame(x[:, ::-1], columns=[f"f{i}" for i in range(63, -1, -1)])
    features.insert(0, "name", [f"row{i}" for i in range(50)])
    order = [f"f{i}" for i in range(64)]
    got = ti.BatchPredictor(DIGITS, feature_columns=order)(features)
    np.testing.assert_array_equal(np.stack(got["probs"].to_numpy()), ref)
    # Default: every numeric column (the text column is not one).
    plain = pd.DataFrame(x, columns=order)
    np.testing.assert_array_equal(np.stack(ti.BatchPredictor(DIGITS)(plain)["probs"]), ref)


@pytest.mark.parametrize("kind", ["table", "record_batch", "chunked"])
def test_arrow_fixed_size_lists(kind: str) -> None:
    x, ids = digits_rows(90)
    table = pa.table({"id": ids, "pixels": fixed_list(x)})
    if kind == "record_batch":
        table = table.to_batches()[0]
    elif kind == "chunked":
        table = pa.concat_tables([table.slice(0, 40), table.slice(40)])
    out = ti.BatchPredictor(DIGITS)(table)
    assert type(out) is type(table)
    assert out.schema.names == ["id", "pixels", "probs"]
    assert out.schema.field("probs").type == pa.list_(pa.float32(), 10)
    assert out.column("id").to_pylist() == ids.tolist()
    got = np.array(out.column("probs").to_pylist(), dtype=np.float32)
    np.testing.assert_array_equal(got, reference(x))


def test_arrow_variable_lists_and_sliced_batches() -> None:
    x, _ = digits_rows(30)
    table = pa.table({"pixels": pa.array(x.tolist())})  # list<double>, equal lengths
    out = ti.BatchPredictor(DIGITS)(table.slice(5, 20))
    got = np.array(out.column("probs").to_pylist(), dtype=np.float32)
    np.testing.assert_array_equal(got, reference(x[5:25].astype(np.float64)))


def test_two_inputs_two_outputs_match_tfjs() -> None:
    io = read_io(TWO)
    xs = dict(zip([r["name"] for r in io["inputs"]], arrays(io["inputs"])))
    refs = dict(zip([r["name"] for r in io["outputs"]], arrays(io["outputs"])))
    model = ti.load_model(TWO)
    in_process = dict(zip(["out_sum", "out_cat"], model.predict([xs["b"], xs["a"]])))
    frame = pd.DataFrame({"a": list(xs["a"]), "b": list(xs["b"]), "k": range(len(xs["a"]))})
    table = pa.table({"b": fixed_list(xs["b"]), "a": fixed_list(xs["a"])})
    for got in (ti.BatchPredictor(TWO)(frame), ti.BatchPredictor(TWO)(table).to_pandas()):
        for name in ("out_sum", "out_cat"):
            values = np.stack(got[name].to_numpy())
            np.testing.assert_array_equal(values, in_process[name])
            np.testing.assert_allclose(values, refs[name], rtol=RTOL, atol=ATOL)
    only = ti.BatchPredictor(TWO, outputs=["out_cat"])(dict(xs))
    assert sorted(only) == ["a", "b", "out_cat"]
    np.testing.assert_array_equal(only["out_cat"], in_process["out_cat"])


def test_top_k_with_the_models_labels() -> None:
    x, _ = digits_rows(40)
    probs = reference(x)
    labels = ti.load_model(DIGITS).labels
    assert labels == [str(i) for i in range(10)]
    best = ti.top_k(probs, k=3, labels=labels)
    out = ti.BatchPredictor(DIGITS, top_k=3)({"pixels": x})
    assert out["top_labels"].shape == (40,)  # a list of labels per row
    assert out["top_labels"].tolist() == best.labels
    np.testing.assert_array_equal(out["top_scores"], best.scores)
    named = ti.BatchPredictor(DIGITS, top_k=1, labels=list("abcdefghij"))
    one = named(pd.DataFrame({"pixels": list(x)}))
    assert one["top_labels"].tolist() == ["abcdefghij"[i] for i in probs.argmax(1)]
    np.testing.assert_array_equal(one["top_scores"].to_numpy(), probs.max(1))
    table = ti.BatchPredictor(DIGITS, top_k=2)(pa.table({"pixels": fixed_list(x)}))
    assert table.column("top_labels").to_pylist() == [r[:2] for r in best.labels]


def test_one_value_outputs_are_scalar_columns() -> None:
    case = FIXTURES / "tfjs" / "topo_tm_style"
    model = ti.load_model(case)
    x = arrays(read_io(case)["inputs"])[0]
    ranked = ti.BatchPredictor(model, top_k=1)({"base_input": x})
    assert ranked["top_scores"].shape == (len(x),) and ranked["top_labels"].shape == (len(x),)
    np.testing.assert_array_equal(ranked["top_scores"], model.predict(x).max(1))


def test_series_and_ndarray_give_the_output() -> None:
    x, _ = digits_rows(20)
    ref = reference(x)
    predictor = ti.BatchPredictor(DIGITS)
    np.testing.assert_array_equal(predictor(x), ref)  # dask.array map_blocks
    series = predictor(pd.Series(list(x), index=range(100, 120)))  # pandas_udf
    assert series.index.tolist() == list(range(100, 120))
    np.testing.assert_array_equal(np.stack(series.to_numpy()), ref)
    columns = [pd.Series(x[:, i]) for i in range(64)]  # pandas_udf over feature columns
    np.testing.assert_array_equal(np.stack(predictor(*columns).to_numpy()), ref)


@pytest.mark.parametrize("how", ["path", "bytes", "model"])
def test_pickles_as_source_and_loads_once_per_process(how: str) -> None:
    x, _ = digits_rows(64)
    source = {"path": str(DIGITS), "bytes": digits_zip_bytes(), "model": ti.load_model(DIGITS)}[how]
    predictor = ti.BatchPredictor(source, num_threads=1)
    blob = pickle.dumps(predictor)
    if how == "path":
        assert len(blob) < 2000  # the source travels, not the weights
    clone = pickle.loads(blob)
    again = pickle.loads(blob)
    np.testing.assert_array_equal(clone(x), reference(x))
    assert again.model is clone.model  # cached by source in this process
    assert clone.model.num_threads == 1


def test_engine_threads_outside_engines_and_override() -> None:
    assert ti.batch.engine_threads() == (None, "none")
    predictor = ti.BatchPredictor(str(DIGITS), num_threads=1)
    assert predictor.model.num_threads == 1


def test_meta_and_arrow_schema_describe_the_result() -> None:
    x, ids = digits_rows(5)
    predictor = ti.BatchPredictor(DIGITS, top_k=2)
    frame = pd.DataFrame({"id": ids, "pixels": list(x)})
    meta = predictor.meta(frame)
    out = predictor(frame)
    assert list(meta.columns) == list(out.columns) and len(meta) == 0
    assert meta.dtypes.tolist() == out.dtypes.tolist()
    table = pa.table({"id": ids, "pixels": fixed_list(x)})
    assert predictor.arrow_schema(table.schema) == predictor(table).schema


def test_empty_batches() -> None:
    x, ids = digits_rows(5)
    out = ti.BatchPredictor(DIGITS)({"pixels": x[:0], "id": ids[:0]})
    assert out["probs"].shape == (0, 10)


def test_bad_batches_raise_clear_errors() -> None:
    x, _ = digits_rows(4)
    predictor = ti.BatchPredictor(DIGITS)
    with pytest.raises(ti.InputShapeError, match=r"takes 64 features.*received 3"):
        predictor(pd.DataFrame({"a": [1.0] * 4, "b": [2.0] * 4, "c": [3.0] * 4}))
    with pytest.raises(ti.InputShapeError, match=r"expected shape \(None, 64\)"):
        predictor({"pixels": x[:, :10]})
    with pytest.raises(ti.InputShapeError, match="feature_columns"):
        ti.BatchPredictor(DIGITS, feature_columns=["nope"])(pd.DataFrame({"a": [1.0]}))
    with pytest.raises(ti.InputValueError, match="null"):
        predictor(pa.table({"pixels": pa.array([x[0].tolist(), None])}))
    with pytest.raises(ti.InputShapeError, match="different lengths"):
        predictor(pa.table({"pixels": pa.array([[1.0] * 64, [1.0] * 63])}))
    with pytest.raises(ti.InputDtypeError, match="expected numbers"):
        predictor(pa.table({"pixels": pa.array([["a"] * 64])}))
    with pytest.raises(ti.InputValueError, match=r"already has column\(s\) \['probs'\]"):
        predictor({"pixels": x, "probs": x})
    with pytest.raises(ti.InputValueError, match="no output named 'nope'"):
        ti.BatchPredictor(DIGITS, outputs=["nope"])({"pixels": x})
    with pytest.raises(ti.InputDtypeError, match="received list"):
        predictor([x])
    with pytest.raises(ti.InputValueError, match=r"unknown BatchPredictor option\(s\) \['bogus'\]"):
        ti.BatchPredictor(DIGITS, bogus=1)
    with pytest.raises(ti.InputValueError, match="top_k must be a positive integer"):
        ti.BatchPredictor(DIGITS, top_k=0)
    with pytest.raises(ti.InputShapeError, match=r"takes 2 input\(s\)"):
        ti.BatchPredictor(TWO)(np.zeros((2, 3), np.float32))


def test_cache_is_keyed_by_source_and_threads() -> None:
    a = ti.BatchPredictor(str(DIGITS), num_threads=1).model
    b = ti.BatchPredictor(str(DIGITS), num_threads=2).model
    c = ti.BatchPredictor(str(DIGITS), num_threads=1, isa="generic").model
    assert a is not b and a is not c
    assert a is ti.BatchPredictor(DIGITS, num_threads=1).model
    assert any(key[0] == ("path", str(DIGITS.resolve())) for key in predictor_module._MODELS)


def test_image_rows_flat_or_nested_lists_match_tfjs() -> None:
    case = FIXTURES / "tfjs" / "rescaling_rank4"  # input (None, 2, 2, 3) -> Rescaling -> Dense
    io = read_io(case)
    x = arrays(io["inputs"])[0]
    ref = arrays(io["outputs"])[0]
    model = ti.load_model(case)
    name = model.inputs[0].name
    flat = pa.table({name: fixed_list(x.reshape(len(x), -1))})
    nested = pa.table({name: pa.array(x.tolist())})  # lists of lists of lists
    for table in (flat, nested):
        out = ti.BatchPredictor(model)(table)
        got = np.array(out.column(model.outputs[0].name).to_pylist(), dtype=np.float32)
        np.testing.assert_array_equal(got, model.predict(x).reshape(len(x), -1))
        np.testing.assert_allclose(got, ref.reshape(len(x), -1), rtol=RTOL, atol=ATOL)


def test_pyarrow_backed_frames_get_arrow_columns() -> None:
    x, ids = digits_rows(30)
    table = pa.table({"id": ids, "pixels": fixed_list(x)})
    frame = table.to_pandas(types_mapper=pd.ArrowDtype)  # dtype_backend="pyarrow"
    predictor = ti.BatchPredictor(DIGITS, top_k=2)
    out = predictor(frame)
    assert out["probs"].dtype == pd.ArrowDtype(pa.list_(pa.float32(), 10))
    assert out["id"].tolist() == ids.tolist()
    got = pa.array(out["probs"]).flatten().to_numpy().reshape(30, 10)
    np.testing.assert_array_equal(got, reference(x))
    assert out.dtypes.tolist() == predictor.meta(frame).dtypes.tolist()
    features = pd.DataFrame(x).rename(columns=str).astype("float32[pyarrow]")
    got = pa.array(predictor(features)["probs"]).flatten().to_numpy().reshape(30, 10)
    np.testing.assert_array_equal(got, reference(x))


def test_binary_columns_are_uint8_rows() -> None:
    """Raw bytes per row (binary, fixed-size binary; pandas arrow or object cells)
    are uint8 values, as a list<uint8> column of the same rows gives them."""
    x, ids = digits_rows(70)
    pixels = x.astype(np.uint8)  # the digits' values are 0..16
    ref = reference(pixels)
    cells = [row.tobytes() for row in pixels]
    predictor = ti.BatchPredictor(DIGITS)
    for kind in (pa.binary(64), pa.binary(), pa.large_binary()):
        column = pa.array(cells, type=kind)
        table = pa.table({"id": ids, "pixels": column})
        got = predictor(table.slice(3)).column("probs").combine_chunks()
        np.testing.assert_array_equal(got.values.to_numpy().reshape(-1, 10), ref[3:])
        frame = table.to_pandas(types_mapper=pd.ArrowDtype)
        got = predictor(frame)["probs"].array
        np.testing.assert_array_equal(np.stack(got.to_numpy()), ref)
    frame = pd.DataFrame({"id": ids, "pixels": cells})  # object column of bytes
    np.testing.assert_array_equal(np.stack(predictor(frame)["probs"].to_numpy()), ref)
    out = predictor({"pixels": np.array(cells, dtype=object)})  # Ray's numpy batches
    np.testing.assert_array_equal(out["probs"], ref)


def test_bytes_of_the_input_dtype_are_its_values() -> None:
    """A row of 4 bytes per value of a float32 input holds the float32 values
    (little-endian), in every batch type; a sliced table at an odd byte offset
    reads the same rows."""
    x, ids = digits_rows(70)
    ref = reference(x)
    cells = [row.astype("<f4").tobytes() for row in x]
    predictor = ti.BatchPredictor(DIGITS)
    flat = pa.py_buffer(x.astype("<f4").tobytes())
    fixed = pa.FixedSizeBinaryArray.from_buffers(pa.binary(256), 70, [None, flat])
    for column in (fixed, pa.array(cells, pa.binary()), pa.array(cells, pa.large_binary())):
        table = pa.table({"id": ids, "pixels": column})
        got = predictor(table.slice(3)).column("probs").combine_chunks()
        np.testing.assert_array_equal(got.values.to_numpy().reshape(-1, 10), ref[3:])
        got = predictor(table.to_pandas(types_mapper=pd.ArrowDtype))["probs"].array
        np.testing.assert_array_equal(np.stack(got.to_numpy()), ref)
    odd = pa.array([b"x" + cells[0], *cells[1:]], pa.binary())  # data buffer at offset 1
    table = pa.table({"pixels": odd}).slice(1)
    got = predictor(table).column("probs").combine_chunks().values.to_numpy()
    np.testing.assert_array_equal(got.reshape(-1, 10), ref[1:])
    frame = pd.DataFrame({"id": ids, "pixels": cells})
    np.testing.assert_array_equal(np.stack(predictor(frame)["probs"].to_numpy()), ref)
    for rows in (np.array(cells, dtype=object), np.array(cells, dtype="S256")):
        np.testing.assert_array_equal(predictor({"pixels": rows})["probs"], ref)


def test_bytes_of_another_width_are_a_shape_error() -> None:
    x, _ = digits_rows(5)
    cells = [row.astype("<f4").tobytes()[:200] for row in x]  # neither 64 nor 256 bytes
    with pytest.raises(ti.errors.InputShapeError, match=r"expected shape \(None, 64\)"):
        ti.BatchPredictor(DIGITS)(pa.table({"pixels": pa.array(cells, pa.binary(200))}))


def test_binary_rows_of_different_lengths_are_named() -> None:
    x, _ = digits_rows(4)
    cells = [row.astype(np.uint8).tobytes() for row in x]
    cells[2] = cells[2][:10]
    for batch in (pa.table({"pixels": pa.array(cells)}), {"pixels": np.array(cells, object)}):
        with pytest.raises(ti.errors.InputShapeError, match="byte strings of different lengths"):
            ti.BatchPredictor(DIGITS)(batch)
