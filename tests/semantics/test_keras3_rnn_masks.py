"""Masked recurrent stacks: the same model saved by Keras 3 (model.keras,
io.json) and by tf_keras 2 (model.h5, io_h5.json) must give what each Keras
predicted (tests/fixtures/keras3_rnn_masks/, made by its make_fixtures.py).
Inputs are padded at the start, in the middle, at the end, not at all, and
entirely."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import tfjs_infer
from fixture_utils import ATOL, FIXTURES, RTOL, arrays, as_list

ROOT = FIXTURES / "keras3_rnn_masks"
CASES = sorted(p for p in ROOT.iterdir() if (p / "io.json").is_file())
H5_CASES = [p for p in CASES if (p / "io_h5.json").is_file()]


def _check(case: Path, io_name: str) -> None:
    io = json.loads((case / io_name).read_text())
    model = tfjs_infer.load_model(case / io["model_file"])
    xs = arrays(io["inputs"])
    want = arrays(io["outputs"])
    for batch_size in (io["batch_size"], 1):
        got = as_list(model.predict(xs[0], batch_size=batch_size), len(want))
        for i, (g, r) in enumerate(zip(got, want)):
            assert g.shape == r.shape, (case.name, i, g.shape, r.shape)
            np.testing.assert_allclose(
                g, r, rtol=RTOL, atol=ATOL, err_msg=f"{case.name} {io_name} output {i}"
            )


def test_fixtures_present() -> None:
    assert len(CASES) >= 28 and len(H5_CASES) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_keras3_file_matches_keras3(case: Path) -> None:
    _check(case, "io.json")


@pytest.mark.parametrize("case", H5_CASES, ids=lambda p: p.name)
def test_tf_keras_h5_matches_tf_keras(case: Path) -> None:
    _check(case, "io_h5.json")
