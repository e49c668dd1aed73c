"""Keras files (.keras archives and legacy .h5) made by real Keras 3 and real
tf_keras must predict what Keras itself predicted on them.

Fixtures: tests/fixtures/keras3/<case>/ (tests/fixtures/keras3/make_fixtures.py)
and tests/fixtures/keras2/<case>/ (tests/fixtures/keras2/make_fixtures.py);
each io.json names its model file and holds Keras's own outputs. Every case
runs under every instruction set this machine has.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from fixture_utils import FIXTURES, ISAS, case_dirs, case_id, check_batch_invariance, check_case

CASES = case_dirs("keras3", "keras2")


def test_cases_present():
    assert len(case_dirs("keras3")) >= 10
    assert len(case_dirs("keras2")) >= 4


@pytest.mark.parametrize("family", ["keras3", "keras2"])
def test_fixture_files_match_manifest(family):
    manifest = json.loads((FIXTURES / family / "MANIFEST.json").read_text())
    assert sorted(manifest["cases"]) == sorted(p.name for p in case_dirs(family))
    for case, entry in manifest["cases"].items():
        for name, digest in entry["files"].items():
            data = (FIXTURES / family / case / name).read_bytes()
            assert hashlib.sha256(data).hexdigest() == digest, f"{family}/{case}/{name} changed"


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_keras_fixture(case, isa):
    check_case(case, isa=isa)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_keras_fixture_batch_invariance(case):
    check_batch_invariance(case)
