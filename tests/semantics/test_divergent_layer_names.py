"""Which layers the load warning names, per divergent layer class (the
fixtures of tests/fixtures/semantics/ where TF.js runs the model)."""

from __future__ import annotations

import warnings

import pytest

import tfjs_infer
from fixture_utils import FIXTURES

# case -> the class of the one layer whose numbers differ between TF.js and Keras
EXPECTED = {
    "k2_relu_slope": "ReLU",
    "k2_depthwise_dilation": "DepthwiseConv2D",
    "k2_upsampling_bilinear": "UpSampling2D",
}


def _layer_classes(model: tfjs_infer.Model) -> dict[str, str]:
    return {layer["name"]: layer["class_name"] for layer in model._layers}


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_exactly_the_divergent_layer_is_named(case: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = tfjs_infer.load_model(FIXTURES / "semantics" / case / "model.json")
    classes = _layer_classes(model)
    named = [classes[n.split("/")[-1]] for n in model.semantics.divergent_layers]
    assert named == [EXPECTED[case]]


def test_no_warning_without_divergence() -> None:
    """A TF.js-saved MLP: nothing differs, nothing to warn about."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", tfjs_infer.SemanticsWarning)
        model = tfjs_infer.load_model(FIXTURES / "tfjs" / "dense_mlp" / "model.json")
    assert model.semantics.divergent_layers == ()
    assert model.semantics.chosen == "tfjs"
