"""Semantics by provenance on model.json files converted from Keras, each with
a layer that TF.js 4.22 and Keras compute differently (or that TF.js cannot
run): tests/fixtures/semantics/, made by its make_fixtures.py from real
tf_keras / Keras 3 and real TF.js 4.22.

- auto (a converted file): the Keras numbers;
- semantics="keras": the Keras numbers;
- semantics="tfjs": TF.js's numbers where TF.js runs the model, else Keras's,
  with the warning saying TF.js cannot run it.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import tfjs_infer
from fixture_utils import ATOL, RTOL, arrays, as_list, case_dirs, case_id, read_io

CASES = [c for c in case_dirs("semantics") if "tfjs" in read_io(c)]
TFJS_RUNS = [c for c in CASES if "outputs" in read_io(c)["tfjs"]]
TFJS_REFUSES = [c for c in CASES if "error" in read_io(c)["tfjs"]]


def _load(case: Path, semantics: str) -> tuple[tfjs_infer.Model, list[warnings.WarningMessage]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = tfjs_infer.load_model(case / "model.json", semantics=semantics)
    return model, [w for w in caught if issubclass(w.category, tfjs_infer.SemanticsWarning)]


def _check(model: tfjs_infer.Model, case: Path, refs: list[dict]) -> None:
    io = read_io(case)
    xs = arrays(io["inputs"])
    want = arrays(refs)
    got = as_list(model.predict(xs[0], batch_size=io["batch_size"]), len(want))
    for g, r in zip(got, want):
        assert g.shape == r.shape
        np.testing.assert_allclose(g, r, rtol=RTOL, atol=ATOL, err_msg=case.name)


def _keras_flavor(case: Path) -> str:
    return "keras3" if read_io(case)["keras_version"].startswith("3") else "keras2"


def test_fixtures_present() -> None:
    assert len(CASES) >= 12 and len(TFJS_RUNS) >= 3 and len(TFJS_REFUSES) >= 3


@pytest.mark.parametrize("case", TFJS_RUNS, ids=case_id)
def test_fixture_shows_the_divergence(case: Path) -> None:
    """Not vacuous: TF.js and Keras really differ on these files."""
    io = read_io(case)
    k = arrays(io["keras_outputs"])[0]
    t = arrays(io["tfjs"]["outputs"])[0]
    assert k.shape != t.shape or np.abs(k - t).max() > 1e-3


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_auto_gives_the_writing_keras(case: Path) -> None:
    model, caught = _load(case, "auto")
    assert model.semantics.chosen == _keras_flavor(case)
    assert model.semantics.requested == "auto"
    assert "converted from Keras" in model.semantics.reason or "Keras 3" in model.semantics.reason
    _check(model, case, read_io(case)["keras_outputs"])
    assert len(caught) <= 1


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_keras_forced(case: Path) -> None:
    model, _ = _load(case, "keras")
    assert model.semantics.chosen == _keras_flavor(case)
    _check(model, case, read_io(case)["keras_outputs"])


@pytest.mark.parametrize("case", TFJS_RUNS, ids=case_id)
def test_tfjs_forced_where_tfjs_runs(case: Path) -> None:
    model, caught = _load(case, "tfjs")
    assert model.semantics.chosen == "tfjs"
    assert model.semantics.tfjs_error is None
    _check(model, case, read_io(case)["tfjs"]["outputs"])
    # One warning names the divergent layer(s) and says whose numbers we give.
    assert len(caught) == 1
    text = str(caught[0].message)
    assert "TF.js 4.22's numbers" in text
    assert model.semantics.divergent_layers
    for name in model.semantics.divergent_layers:
        assert repr(name) in text


@pytest.mark.parametrize("case", TFJS_REFUSES, ids=case_id)
def test_tfjs_forced_where_tfjs_refuses_follows_keras(case: Path) -> None:
    model, caught = _load(case, "tfjs")
    assert model.semantics.chosen == _keras_flavor(case)
    assert model.semantics.requested == "tfjs"
    assert model.semantics.tfjs_error
    _check(model, case, read_io(case)["keras_outputs"])
    assert len(caught) == 1
    text = str(caught[0].message)
    assert "TF.js 4.22 cannot run this model" in text
    assert model.semantics.tfjs_error in text


@pytest.mark.parametrize("case", TFJS_RUNS, ids=case_id)
def test_auto_warning_names_the_divergent_layers(case: Path) -> None:
    model, caught = _load(case, "auto")
    assert len(caught) == 1
    text = str(caught[0].message)
    keras = {"keras2": "Keras 2", "keras3": "Keras 3"}[model.semantics.chosen]
    assert f"giving {keras}'s numbers" in text
    assert f"TF.js 4.22 and {keras} compute these layers differently" in text
    assert model.semantics.divergent_layers
    for name in model.semantics.divergent_layers:
        assert repr(name) in text
