"""Convolution layers against real TF.js and Keras outputs, under every ISA.

TF.js cases (tests/fixtures/tfjs_conv/) are model.json files TF.js saved;
Keras cases (tests/fixtures/keras_conv/) are tf_keras models with Keras's own
outputs (see keras_utils below for how they are loaded). Each case runs under
every instruction set this machine offers, so the generic, AVX2 and AVX-512
kernels are all checked against the same references.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import tfjs_infer
from fixture_utils import (
    ATOL,
    RTOL,
    arrays,
    case_dirs,
    case_id,
    check_batch_invariance,
    check_case,
    read_io,
)
from tfjs_infer.io import read_model

ISAS = tfjs_infer.available_isas()
TFJS_CASES = case_dirs("tfjs_conv")


def test_fixtures_present() -> None:
    assert len(TFJS_CASES) >= 50
    assert "generic" in ISAS


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("case", TFJS_CASES, ids=case_id)
def test_matches_tfjs(case, isa: str) -> None:
    check_case(case, isa=isa)


@pytest.mark.parametrize("case", TFJS_CASES, ids=case_id)
def test_batch_size_does_not_change_bits(case) -> None:
    check_batch_invariance(case)


# -- Keras cases ------------------------------------------------------------------
KERAS_CASES = case_dirs("keras_conv")


def _keras_model(case: Path, isa: str) -> tfjs_infer.Model:
    """The case's model with Keras semantics.

    Until tfjs_infer reads .h5 files itself, the test loads the converter's
    model.json of the same model (same config and weights) and asks for the
    file's Keras 2 meaning, which is what the reference outputs are.
    """
    spec = read_model(case / "model.json")
    spec.semantics = read_io(case)["semantics"]
    return tfjs_infer.Model(spec, isa=isa)


def test_keras_fixtures_present() -> None:
    assert len(KERAS_CASES) >= 25


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("case", KERAS_CASES, ids=case_id)
def test_matches_keras(case: Path, isa: str) -> None:
    io = read_io(case)
    x = arrays(io["inputs"])[0]
    ref = arrays(io["outputs"])[0]
    got = _keras_model(case, isa).predict(x, batch_size=io["batch_size"])
    assert got.shape == ref.shape, f"{case_id(case)}: shape {got.shape}, Keras {ref.shape}"
    np.testing.assert_allclose(got, ref, rtol=RTOL, atol=ATOL, err_msg=case_id(case))
