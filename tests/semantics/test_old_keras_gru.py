"""Keras 2.0/2.1 .h5 files with GRU and Bidirectional(GRU) layers from before
``reset_after`` (no key; bias (3 * units,)) load as reset_after=False GRUs
(tests/fixtures/semantics/old_keras_gru/, made by make_old_keras_gru.py: the
reference is tf_keras 2.21's GRU(reset_after=False) on the same weights)."""

from __future__ import annotations

import json

import h5py
import numpy as np

import tfjs_infer
from fixture_utils import ATOL, FIXTURES, RTOL, arrays

CASE = FIXTURES / "semantics" / "old_keras_gru"


def test_file_is_keras_2_0_style() -> None:
    with h5py.File(CASE / "model.h5", "r") as f:
        config = f.attrs["model_config"]
        assert "reset_after" not in (config if isinstance(config, str) else config.decode())
        assert f.attrs["keras_version"] in ("2.0.8", b"2.0.8")


def test_old_gru_loads_as_reset_before() -> None:
    io = json.loads((CASE / "io.json").read_text())
    model = tfjs_infer.load_model(CASE / "model.h5")
    assert model.semantics.chosen == "keras2"
    got = model.predict(arrays(io["inputs"])[0], batch_size=io["batch_size"])
    np.testing.assert_allclose(got, arrays(io["outputs"])[0], rtol=RTOL, atol=ATOL)
