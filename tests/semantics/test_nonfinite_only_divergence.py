"""Max pooling differs between TF.js and Keras only on windows holding nothing
but NaN/-inf (README "NaN and infinity"): loading such a model gives no
SemanticsWarning, while the semantics still choose each framework's value."""

from __future__ import annotations

import warnings

import numpy as np

import tfjs_infer
from fixture_utils import FIXTURES

MAXPOOL_TFJS = FIXTURES / "nonfinite" / "tfjs" / "conv2d_linear_maxpool"
GELU_TFJS = FIXTURES / "nonfinite" / "tfjs" / "act_gelu"


def test_max_pooling_model_loads_without_a_semantics_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", tfjs_infer.SemanticsWarning)
        model = tfjs_infer.load_model(MAXPOOL_TFJS)
    assert model.semantics.chosen == "tfjs"


def test_a_finite_divergence_still_warns() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tfjs_infer.load_model(GELU_TFJS)
    assert any(issubclass(w.category, tfjs_infer.SemanticsWarning) for w in caught)


def test_all_minus_inf_window_follows_the_chosen_semantics() -> None:
    tfjs = tfjs_infer.load_model(MAXPOOL_TFJS, semantics="tfjs")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tfjs_infer.SemanticsWarning)
        keras = tfjs_infer.load_model(MAXPOOL_TFJS, semantics="keras")
    shape = (1, *tfjs.inputs[0].shape[1:])
    x = np.full(shape, -np.inf, np.float32)
    # The conv before the pool maps -inf to +-inf/NaN per its weights; wherever
    # a pooled window held only NaN/-inf, TF.js gives -inf and TF the lowest float.
    a, b = tfjs.predict(x), keras.predict(x)
    differ = a != b
    assert differ.any()  # the input reaches an all-NaN/-inf window
    assert np.all(np.isneginf(a[differ]) & (b[differ] == np.finfo(np.float32).min))
