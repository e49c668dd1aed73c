"""Convolution layers against real TF.js and Keras outputs, under every ISA.

TF.js cases (tests/fixtures/tfjs_conv/) are model.json files TF.js saved;
Keras cases (tests/fixtures/keras_conv/) are tf_keras .h5 files with Keras's
own outputs. Each case runs under every instruction set this machine offers,
so the generic, AVX2 and AVX-512 kernels are all checked against the same
references.
"""

from __future__ import annotations

import pytest

from fixture_utils import (
    ISAS,
    case_dirs,
    case_id,
    check_batch_invariance,
    check_case,
)

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


# -- Keras cases (model.h5 files read by tfjs_infer itself, Keras 2 semantics) -------
KERAS_CASES = case_dirs("keras_conv")


def test_keras_fixtures_present() -> None:
    assert len(KERAS_CASES) >= 30


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("case", KERAS_CASES, ids=case_id)
def test_matches_keras(case, isa: str) -> None:
    check_case(case, isa=isa)


@pytest.mark.parametrize("case", KERAS_CASES, ids=case_id)
def test_keras_batch_size_does_not_change_bits(case) -> None:
    check_batch_invariance(case)
