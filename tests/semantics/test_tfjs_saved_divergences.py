"""TF.js-saved model.json files with a layer TF.js 4.22 and Keras compute
differently (fixtures made by real TF.js): auto and semantics="tfjs" give
TF.js's numbers (io.json), semantics="keras" gives what tf_keras 2.21 computes
on the same file converted to Keras by the tensorflowjs converter
(tests/fixtures/semantics/tfjs_saved_keras_refs.json, from
make_tfjs_saved_keras_refs.py)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import tfjs_infer
from fixture_utils import ATOL, FIXTURES, RTOL, arrays, as_list, read_io

REFS = json.loads((FIXTURES / "semantics" / "tfjs_saved_keras_refs.json").read_text())
CASES = sorted(c for c in REFS if "outputs" in REFS[c])


def _load(case: str, semantics: str) -> tuple[tfjs_infer.Model, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = tfjs_infer.load_model(FIXTURES / case / "model.json", semantics=semantics)
    texts = [str(w.message) for w in caught if issubclass(w.category, tfjs_infer.SemanticsWarning)]
    return model, texts


def _predict(model: tfjs_infer.Model, case: str, n: int) -> list[np.ndarray]:
    xs = arrays(read_io(FIXTURES / case)["inputs"])
    return as_list(model.predict(xs[0] if len(xs) == 1 else xs), n)


def test_cases_present() -> None:
    assert len(CASES) >= 6


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("semantics", ["auto", "tfjs"])
def test_tfjs_numbers(case: str, semantics: str) -> None:
    model, texts = _load(case, semantics)
    assert model.semantics.chosen == "tfjs"
    want = arrays(read_io(FIXTURES / case)["outputs"])
    for g, r in zip(_predict(model, case, len(want)), want):
        np.testing.assert_allclose(g, r, rtol=RTOL, atol=ATOL)
    assert len(texts) == 1 and "giving TF.js 4.22's numbers" in texts[0]
    for name in model.semantics.divergent_layers:
        assert repr(name) in texts[0]


@pytest.mark.parametrize("case", CASES)
def test_keras_numbers(case: str) -> None:
    model, texts = _load(case, "keras")
    assert model.semantics.chosen == "keras2"
    want = arrays(REFS[case]["outputs"])
    for g, r in zip(_predict(model, case, len(want)), want):
        assert g.shape == r.shape
        np.testing.assert_allclose(g, r, rtol=RTOL, atol=ATOL)
    assert len(texts) == 1 and "giving Keras 2's numbers" in texts[0]
    assert model.semantics.divergent_layers
