"""Intermediate layer outputs against real TF.js and Keras
(tests/fixtures/intermediate/, made by make_fixtures.py there)."""

from __future__ import annotations

import numpy as np
import pytest
from intermediate_cases import assert_close, case, case_names, inputs, model, reference, x

from tfjs_infer.frontend.select import canonical

CASES = case_names()


def test_every_kind_of_case_is_present() -> None:
    for kind in ("mobilenet_v2", "rnn_stack", "nested_tm", "multi_output", "siamese"):
        for source in ("tfjs", "keras"):
            assert f"{kind}_{source}" in CASES


@pytest.mark.parametrize("name", CASES)
def test_reference_names_are_layer_outputs(name: str) -> None:
    """The dump scripts and tfjs-infer name every layer output alike."""
    m = model(name)
    ours = {n for info in m.layers for n in info.output_names}
    missing = sorted(n for n in reference(name) if canonical(n, m._alias_of) not in ours)
    assert not missing, f"reference outputs the model does not name: {missing}"


@pytest.mark.parametrize("name", CASES)
def test_all_requested_at_once(name: str) -> None:
    ref = reference(name)
    got = model(name).predict(x(name), outputs=list(ref))
    assert list(got) == list(ref)
    for layer, want in ref.items():
        assert_close(got[layer], want, f"{name}: {layer}")


@pytest.mark.parametrize("name", CASES)
def test_each_alone_keeps_the_other_fusions(name: str) -> None:
    """One requested tensor beside the model's outputs: only its own fusion
    is undone; both it and the final outputs match the reference."""
    m = model(name)
    ref = reference(name)
    finals = [t.name for t in m.outputs]
    for layer in case(name)["layers"][:12]:
        wanted = [layer, *[f for f in finals if f != layer]]
        got = m.predict(x(name), outputs=wanted)
        assert_close(got[layer], ref[layer], f"{name}: {layer}")
        for f in finals:
            if f in ref:
                assert_close(got[f], ref[f], f"{name}: {f} beside {layer}")


@pytest.mark.parametrize("name", CASES)
def test_full_model_output_matches(name: str) -> None:
    m = model(name)
    ref = reference(name)
    got = m.predict(x(name))
    outs = list(got.values()) if isinstance(got, dict) else got
    outs = outs if isinstance(outs, list) else [outs]
    for info, out in zip(m.outputs, outs):
        if info.name in ref:
            assert_close(out, ref[info.name], f"{name}: model output {info.name}")


@pytest.mark.parametrize("name", [c for c in CASES if "keras_layers" in case(c)])
def test_layer_table_matches_keras(name: str) -> None:
    """Names (outer/inner), classes and parameter counts as Keras reports them."""
    ours = {info.name: info for info in model(name).layers}
    top = [k for k in case(name)["keras_layers"] if "/" not in k["name"]]
    assert model(name).count_params() == sum(k["params"] for k in top)
    for k in case(name)["keras_layers"]:
        if k["class_name"] == "InputLayer" and k["name"] not in ours:
            continue  # Keras 3 Sequential models list no InputLayer; inputs vary in naming
        info = ours.get(k["name"])
        assert info is not None, f"{name}: no layer {k['name']}"
        assert info.params == k["params"], f"{name}: {k['name']} params"
        if k["class_name"] not in ("Sequential", "Functional", "Model"):
            assert info.class_name == k["class_name"], f"{name}: {k['name']} class"
        shape = k["output_shape"]
        if shape is not None and not (shape and isinstance(shape[0], list)):
            assert list(info.output_shapes[0]) == shape, f"{name}: {k['name']} shape"


def test_stateful_lstm_states_by_index() -> None:
    """``name:i``: an LSTM with return_state gives (sequences, h, c)."""
    ref = reference("rnn_stack_tfjs")
    got = model("rnn_stack_tfjs").predict(x("rnn_stack_tfjs"), outputs=["lstm:1", "lstm:2"])
    assert_close(got["lstm:1"], ref["lstm:1"], "lstm h")
    assert_close(got["lstm:2"], ref["lstm:2"], "lstm c")
    # The last step of the sequences is the h state.
    np.testing.assert_array_equal(
        model("rnn_stack_tfjs").predict(x("rnn_stack_tfjs"), outputs="lstm:0")[:, -1],
        got["lstm:1"],
    )


def test_shared_layer_calls_by_index() -> None:
    for name in ("multi_output_tfjs", "multi_output_keras"):
        ref = reference(name)
        got = model(name).predict(inputs(name), outputs=["shared:0", "shared:1"])
        assert_close(got["shared:0"], ref["shared:0"], f"{name} shared call 0")
        assert_close(got["shared:1"], ref["shared:1"], f"{name} shared call 1")


def test_nested_head_from_an_embedding() -> None:
    """submodel(inputs=...): the Teachable-Machine head run on embeddings."""
    for name in ("nested_tm_tfjs", "nested_tm_keras"):
        m = model(name)
        ref = reference(name)
        head = m.submodel("sequential_3/dense_out", inputs=["sequential_1"])
        assert [t.name for t in head.inputs] == ["sequential_1"]
        assert_close(head.predict(ref["sequential_1"]), ref["sequential_3/dense_out"], name)


def test_nested_model_called_twice() -> None:
    """A nested model's layers give one output per call of the model."""
    for name in ("siamese_tfjs", "siamese_keras"):
        ref = reference(name)
        assert {"encoder/enc_bn:0", "encoder/enc_bn:1", "encoder:0", "encoder:1"} <= set(ref)
        got = model(name).predict(inputs(name), outputs=["encoder/enc_bn:1", "encoder:0"])
        assert_close(got["encoder/enc_bn:1"], ref["encoder/enc_bn:1"], f"{name} second call")
        assert_close(got["encoder:0"], ref["encoder:0"], f"{name} first call")


def test_tfjs_flattened_nested_model_names() -> None:
    """TF.js flattens a Sequential's first nested model: its layers answer to
    TF.js's names too (tests/fixtures/tfjs/topo_tm_style, saved by TF.js)."""
    name = "tfjs_topo_tm_style"
    m = model(name)
    ref = reference(name)
    assert "base_dense" in ref and "base/base_dense" not in ref  # TF.js's own naming
    assert m.get_layer("base_dense").name == "base/base_dense"
    assert list(m.get_weights("base_bn")) == list(m.get_weights("base/base_bn"))
    got = m.predict(x(name), outputs=["base_bn", "base/base_relu", "head/head_d1"])
    assert_close(got["base_bn"], ref["base_bn"], "base_bn")
    assert_close(got["base/base_relu"], ref["base_relu"], "base_relu")
    assert_close(got["head/head_d1"], ref["head/head_d1"], "head_d1")
