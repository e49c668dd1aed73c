"""The tf_keras sequence models of tests/fixtures/keras_rnn/ converted to
model.json: under auto they give Keras 2's numbers (io.json "outputs": what
tf_keras predicted); under semantics="tfjs" TF.js's numbers where TF.js runs
the file (io.json "tfjs") and Keras's where it refuses it (then the whole
model follows Keras, so no case is left out)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tfjs_infer
from fixture_utils import ATOL, RTOL, arrays, as_list, case_dirs, case_id, read_io

CONVERTED = [c for c in case_dirs("keras_rnn") if "tfjs" in read_io(c)]
# TF.js refuses this file over its weight names for stacked cells (the
# converter's names differ from what TF.js looks for); tfjs-infer matches the
# names and runs it with TF.js semantics, which here give Keras's numbers.
NAME_REFUSALS = {"k2_stacked_mask"}


def _run(case: Path, semantics: str, refs: dict[str, Any]) -> tfjs_infer.Model:
    io = read_io(case)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tfjs_infer.SemanticsWarning)
        model = tfjs_infer.load_model(case / io["tfjs"]["model_file"], semantics=semantics)
    calls = io.get("calls") or [{"reset_before": False, "inputs": io["inputs"]}]
    ref_calls = refs.get("calls") or [{"outputs": refs["outputs"]}]
    for k, (call, ref) in enumerate(zip(calls, ref_calls)):
        if call["reset_before"]:
            model.reset_states()
        xs = arrays(call["inputs"])
        want = arrays(ref["outputs"] if isinstance(ref, dict) else ref)
        got = as_list(
            model.predict(xs[0] if len(xs) == 1 else xs, batch_size=io["batch_size"]), len(want)
        )
        for i, (g, r) in enumerate(zip(got, want)):
            np.testing.assert_allclose(
                g, r, rtol=RTOL, atol=ATOL, err_msg=f"{case.name} call {k} out {i}"
            )
    return model


def test_cases_present() -> None:
    assert len(CONVERTED) >= 25


@pytest.mark.parametrize("case", CONVERTED, ids=case_id)
def test_auto_gives_keras2(case: Path) -> None:
    model = _run(case, "auto", read_io(case))
    assert model.semantics.chosen == "keras2"


@pytest.mark.parametrize("case", CONVERTED, ids=case_id)
def test_tfjs_gives_tfjs_where_it_runs(case: Path) -> None:
    io = read_io(case)
    refused = "error" in io["tfjs"]
    model = _run(case, "tfjs", io if refused else io["tfjs"])
    want = "keras2" if refused and case.name not in NAME_REFUSALS else "tfjs"
    assert model.semantics.chosen == want
