"""Pooling, padding, cropping, upsampling and image preprocessing layers
against reference outputs from real TF.js (tests/fixtures/tfjs_pool) and real
Keras (tests/fixtures/keras_pool), under every ISA this machine runs.
"""

from __future__ import annotations

import numpy as np
import pytest

from fixture_utils import ISAS, case_dirs, case_id, check_batch_invariance, check_case, load

TFJS_CASES = case_dirs("tfjs_pool")


def test_tfjs_fixtures_present() -> None:
    assert len(TFJS_CASES) >= 40


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("case", TFJS_CASES, ids=case_id)
def test_matches_tfjs(case, isa: str) -> None:
    check_case(case, isa=isa)


@pytest.mark.parametrize("case", TFJS_CASES, ids=case_id)
def test_tfjs_batch_invariance(case) -> None:
    check_batch_invariance(case)


def test_teachable_machine_conv_metadata() -> None:
    case = next(c for c in TFJS_CASES if c.name == "teachable_machine_conv")
    model = load(case)
    assert model.labels == ["Background", "Thumbs up", "Thumbs down"]
    assert model.metadata["packageName"] == "@teachablemachine/image"
    assert model.metadata["imageSize"] == 17
    assert model.inputs[0].shape == (None, 17, 17, 3)


def test_teachable_machine_metadata() -> None:
    case = next(c for c in TFJS_CASES if c.name == "teachable_machine")
    model = load(case)
    assert model.labels == ["Class 1", "Class 2", "Cat", "Dog"]
    assert model.metadata["packageName"] == "@teachablemachine/image"
    assert model.metadata["imageSize"] == 15
    assert model.inputs[0].shape == (None, 15, 15, 3)
    assert model.outputs[0].shape == (None, 4)
    probs = model.predict(np.zeros((2, 15, 15, 3), np.float32))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


KERAS_CASES = case_dirs("keras_pool")


def test_keras_fixtures_present() -> None:
    names = {c.name for c in KERAS_CASES}
    assert sum(n.startswith("k2_") for n in names) >= 50
    assert sum(n.startswith("k3_") for n in names) >= 50


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("case", KERAS_CASES, ids=case_id)
def test_matches_keras(case, isa: str) -> None:
    check_case(case, isa=isa)


@pytest.mark.parametrize("case", KERAS_CASES, ids=case_id)
def test_keras_batch_invariance(case) -> None:
    check_batch_invariance(case)
