"""Model.layers, get_layer, get_weights, submodel, predict(outputs=...),
load_model(outputs=...): behaviour and errors."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
from intermediate_cases import ROOT, assert_close, inputs, model, reference, x

import tfjs_infer
from tfjs_infer import LayerNameError

NESTED = "nested_tm_tfjs"


def test_layers_in_topological_order_with_inbound() -> None:
    layers = model(NESTED).layers
    names = [info.name for info in layers]
    position = {n: i for i, n in enumerate(names)}
    for info in layers:
        for src in info.inbound:
            assert position[src] < position[info.name], (src, info.name)
    conv = model(NESTED).get_layer("sequential_1/feature_model/conv1")
    assert conv.class_name == "Conv2D"
    assert conv.output_shape == (None, 8, 8, 8)
    assert conv.params == 3 * 3 * 3 * 8  # no bias
    assert conv.inbound == ("sequential_1/feature_model/image",)
    bn = model(NESTED).get_layer("sequential_1/feature_model/conv1_bn")
    assert (bn.params, bn.non_trainable_params) == (32, 16)
    head = model(NESTED).get_layer("sequential_3")
    assert head.inbound == ("sequential_1",)
    assert head.params == 16 * 10 + 10 + 10 * 4 + 4


def test_get_weights_as_stored_in_model_json() -> None:
    """Names, order, shapes and values read straight from the shard."""
    folder = ROOT / NESTED
    doc = json.loads((folder / "model.json").read_text())
    group = doc["weightsManifest"][0]
    assert len(doc["weightsManifest"]) == 1 and len(group["paths"]) == 1
    blob = (folder / group["paths"][0]).read_bytes()
    offset, stored = 0, {}
    for w in group["weights"]:
        assert w["dtype"] == "float32" and "quantization" not in w
        n = int(np.prod(w["shape"]))
        stored[w["name"]] = np.frombuffer(blob, "<f4", n, offset).reshape(w["shape"])
        offset += 4 * n
    got = model(NESTED).get_weights("sequential_1/feature_model/conv1_bn")
    names = [n for n in stored if n.split("/")[-2] == "conv1_bn"]
    assert list(got) == names and len(names) == 4
    for n in names:
        np.testing.assert_array_equal(got[n], stored[n])
        assert not got[n].flags.writeable
    whole = model(NESTED).get_weights("sequential_3")
    assert [n.split("/")[-2] for n in whole] == [
        n.split("/")[-2] for n in stored if n.split("/")[-2] in ("dense_hidden", "dense_out")
    ]
    assert model(NESTED).get_weights("sequential_1/feature_model/pool") == {}


def test_get_weights_of_a_keras_file() -> None:
    got = model("nested_tm_keras").get_weights("sequential_3/dense_hidden")
    assert list(got) == ["vars/0", "vars/1"]
    assert got["vars/0"].shape == (16, 10) and got["vars/1"].shape == (10,)


def test_unknown_names_list_close_matches() -> None:
    m = model(NESTED)
    with pytest.raises(LayerNameError, match=r"close matches.*sequential_1/feature_model/conv1'"):
        m.predict(x(NESTED), outputs=["conv1"])
    with pytest.raises(LayerNameError, match="nested model are named 'outer/inner'"):
        m.get_layer("conv1")
    with pytest.raises(LayerNameError, match="sequential_3/dense_out"):
        m.submodel(["sequential_3/dense_ou"])
    with pytest.raises(KeyError):  # LayerNameError is a KeyError too
        m.get_weights("no_such_layer")


def test_selection_errors() -> None:
    rnn = model("rnn_stack_tfjs")
    with pytest.raises(LayerNameError, match=r"has 3 outputs.*'lstm:0', 'lstm:1', 'lstm:2'"):
        rnn.predict(x("rnn_stack_tfjs"), outputs=["lstm"])
    with pytest.raises(LayerNameError, match="has 3 output"):
        rnn.predict(x("rnn_stack_tfjs"), outputs=["lstm:3"])
    with pytest.raises(LayerNameError, match="twice"):
        rnn.submodel(["gru", "gru"])
    with pytest.raises(LayerNameError, match="empty"):
        rnn.submodel([])
    with pytest.raises(LayerNameError, match="list of layer names, received 5"):
        rnn.predict(x("rnn_stack_tfjs"), outputs=5)
    with pytest.raises(LayerNameError, match=r"received \['gru', \['lstm'\]\]"):
        rnn.predict(x("rnn_stack_tfjs"), outputs=["gru", ["lstm"]])
    with pytest.raises(LayerNameError, match="received 3"):
        rnn.submodel("gru", inputs=3)
    multi = model("multi_output_tfjs")
    with pytest.raises(LayerNameError, match=r"depend on the model input\(s\) \['b'\]"):
        multi.submodel(["reg"], inputs=["a"])


def test_predict_outputs_returns_a_dict_by_the_names_asked() -> None:
    m = model("multi_output_tfjs")
    got = m.predict(inputs("multi_output_tfjs"), outputs=["reg", "proj", "a"])
    assert list(got) == ["reg", "proj", "a"]
    np.testing.assert_array_equal(got["a"], inputs("multi_output_tfjs")[0])
    full = m.predict(inputs("multi_output_tfjs"))
    np.testing.assert_array_equal(got["reg"], full[1] if isinstance(full, list) else full["reg"])
    one = m.predict(inputs("multi_output_tfjs"), outputs="proj")
    np.testing.assert_array_equal(one, got["proj"])


def test_submodel_is_a_full_model() -> None:
    name = "mobilenet_v2_tfjs"
    m = model(name)
    sub = m.submodel(["block_2_add", m.outputs[0].name])
    xs = np.concatenate([x(name)] * 3)
    whole = sub.predict(xs, batch_size=64)
    for bs in (1, 4):
        parts = sub.predict(xs, batch_size=bs)
        for k in whole:
            np.testing.assert_array_equal(parts[k], whole[k])  # bitwise at every batch size
    sub.num_threads = 1
    one = sub.predict(xs)
    sub.num_threads = 2
    two = sub.predict(xs)
    for k in whole:
        np.testing.assert_array_equal(one[k], two[k])
        np.testing.assert_array_equal(one[k], whole[k])
    back = pickle.loads(pickle.dumps(sub))
    assert [t.name for t in back.outputs] == ["block_2_add", m.outputs[0].name]
    again = back.predict(xs)
    for k in whole:
        np.testing.assert_array_equal(again[k], whole[k])
    assert_close(whole["block_2_add"][:1], reference(name)["block_2_add"], "block_2_add")


def test_submodel_shares_the_loaded_weights() -> None:
    m = model(NESTED)
    sub = m.submodel("sequential_1")
    assert sub._spec is m._spec
    for key, arr in sub.get_weights("sequential_1").items():
        assert np.shares_memory(arr, m._spec.weights[key])


def test_load_model_with_outputs() -> None:
    name = "mobilenet_v2_tfjs"
    embed = tfjs_infer.load_model(ROOT / name / "model.json", outputs="block_5_add")
    assert [t.name for t in embed.outputs] == ["block_5_add"]
    assert embed.outputs[0].shape == (None, 6, 6, 16)
    assert_close(embed.predict(x(name)), reference(name)["block_5_add"], "block_5_add")
    keras = tfjs_infer.load_model(ROOT / "rnn_stack_keras" / "model.keras", outputs=["gru"])
    assert_close(
        keras.predict(x("rnn_stack_keras"))["gru"], reference("rnn_stack_keras")["gru"], "gru"
    )


def test_repr_and_summary_of_a_submodel() -> None:
    sub = model(NESTED).submodel(["sequential_1"])
    text = sub.summary(print_fn=None)
    assert "dense_out" not in text and "conv1" in text
    assert "sequential_1" in repr(sub)
    assert [info.name for info in sub.layers][-1] == "sequential_1"


def test_stateful_model_predict_outputs_carries_the_states() -> None:
    """predict(outputs=...) on a stateful model uses and advances the model's
    states, call after call, as a plain predict does (Keras reference)."""
    from fixture_utils import FIXTURES, arrays, read_io

    case_dir = FIXTURES / "keras_rnn" / "k2_stateful_gru_stack"
    io = read_io(case_dir)
    m = tfjs_infer.load_model(case_dir / io["model_file"])
    final = m.outputs[0].name
    inner = next(info.name for info in m.layers if info.class_name == "GRU")
    for call in io["calls"]:
        if call["reset_before"]:
            m.reset_states()
        got = m.predict(arrays(call["inputs"])[0], outputs=[inner, final])
        ref = arrays(call["outputs"])[0]
        np.testing.assert_allclose(got[final], ref, rtol=1e-4, atol=1e-5)
        assert got[inner].shape[0] == ref.shape[0]


def test_get_weights_of_an_h5_file() -> None:
    from fixture_utils import FIXTURES

    m = tfjs_infer.load_model(FIXTURES / "keras2" / "nested" / "model.h5")
    dense = next(info.name for info in m.layers if info.class_name == "Dense")
    got = m.get_weights(dense)
    assert [k.rsplit("/", 1)[-1] for k in got] == ["kernel:0", "bias:0"]
    assert got[next(iter(got))].ndim == 2


def test_submodel_from_an_intermediate_tensor() -> None:
    """inputs=[...] cuts the (fused) graph: the rest of MobileNetV2 run from
    TF.js's block_5_add gives TF.js's embedding."""
    name = "mobilenet_v2_tfjs"
    m = model(name)
    ref = reference(name)
    rest = m.submodel(m.outputs[0].name, inputs=["block_5_add"])
    assert rest.inputs[0].name == "block_5_add" and rest.inputs[0].shape == (None, 6, 6, 16)
    assert len(rest._core.ops()) < len(m._core.ops())
    assert_close(rest.predict(ref["block_5_add"]), ref[m.outputs[0].name], "embedding")
    both = m.submodel(["block_5_add", "block_2_add"], inputs=["block_2_add"])
    got = both.predict(ref["block_2_add"])
    np.testing.assert_array_equal(got["block_2_add"], ref["block_2_add"])  # an input passed through
    assert_close(got["block_5_add"], ref["block_5_add"], "block_5_add")


def test_identity_layers_give_their_input() -> None:
    """Dropout is removed at compile; asking for it gives the tensor it passes on."""
    from fixture_utils import FIXTURES, arrays, read_io

    case_dir = FIXTURES / "converter" / "mlp_batchnorm"
    m = tfjs_infer.load_model(case_dir / "model.json")
    drop = next(info for info in m.layers if info.class_name == "Dropout")
    before = drop.inbound[0]
    xs = arrays(read_io(case_dir)["inputs"])[0]
    got = m.predict(xs, outputs=[drop.name, before, m.outputs[0].name])
    np.testing.assert_array_equal(got[drop.name], got[before])
    ref = arrays(read_io(case_dir)["outputs"])[0]
    np.testing.assert_allclose(got[m.outputs[0].name], ref, rtol=1e-4, atol=1e-5)


def test_batch_predictor_and_serve_repository_take_submodels() -> None:
    """A submodel goes where a Model goes: BatchPredictor (pickled to a
    worker) and the serve repository (load_model(outputs=...))."""
    from tfjs_infer.batch import BatchPredictor

    m = model(NESTED)
    sub = m.submodel("sequential_1")
    worker = pickle.loads(pickle.dumps(BatchPredictor(sub)))
    rows = x(NESTED)
    out = worker({m.inputs[0].name: rows})
    got = np.asarray([np.asarray(r, np.float32) for r in out["sequential_1"]])
    np.testing.assert_array_equal(got, sub.predict(rows))
    assert_close(got, reference(NESTED)["sequential_1"], "embedding via BatchPredictor")

    pytest.importorskip("starlette", reason="the serve extra is part of the test extra")
    from tfjs_infer.serve.repository import open_repository

    repo = open_repository(str(ROOT / NESTED / "model.json"), outputs="sequential_1")
    (served,) = list(repo)
    assert served.output_names == ["sequential_1"]
    assert_close(served.model.predict(rows), reference(NESTED)["sequential_1"], "served")
