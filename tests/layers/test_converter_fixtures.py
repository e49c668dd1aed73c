"""Models made by Keras (tf_keras 2.21) and converted by the tensorflowjs 4.22.0
converter must predict what real TF.js 4.22.0 predicts on the converted files.

Fixtures: tests/fixtures/converter/<case>/ (model.json, shards, io.json), made by
tests/fixtures/converter/make_fixtures.py. For quantized cases the reference is
TF.js's output on the quantized weights, not Keras's output on the originals.
For a case TF.js cannot load (io.json "reference": "keras"), Keras's outputs are
the reference. Every case runs under every instruction set this machine has.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

import tfjs_infer
from fixture_utils import ISAS, load_file

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "converter"
DIGITS = REPO / "python" / "tfjs_infer" / "examples" / "digits"
CASES = sorted(p.parent.name for p in FIXTURES.glob("*/io.json"))


def _array(t):
    return np.asarray(t["data"], dtype=t["dtype"]).reshape(t["shape"])


def _load_io(case):
    return json.loads((FIXTURES / case / "io.json").read_text())


def test_cases_present():
    assert len(CASES) >= 12, CASES


def test_fixture_files_match_manifest():
    manifest = json.loads((FIXTURES / "MANIFEST.json").read_text())
    assert sorted(manifest["cases"]) == CASES
    for case, entry in manifest["cases"].items():
        for name, digest in entry["files"].items():
            data = (FIXTURES / case / name).read_bytes()
            assert hashlib.sha256(data).hexdigest() == digest, f"{case}/{name} changed"


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("case", CASES)
def test_converter_fixture(case, isa):
    io = _load_io(case)
    m = load_file(FIXTURES / case / "model.json", isa)
    inputs = [_array(t) for t in io["inputs"]]
    got = m.predict(inputs[0] if len(inputs) == 1 else inputs, batch_size=io["batch_size"])
    refs = [_array(t) for t in io["outputs"]]
    if len(refs) == 1:
        got = [got]
    assert isinstance(got, (list, tuple)), type(got)
    assert len(got) == len(refs)
    for g, ref, meta in zip(got, refs, io["outputs"]):
        g = np.asarray(g)
        assert g.shape == ref.shape, (meta["name"], g.shape, ref.shape)
        np.testing.assert_allclose(g, ref, rtol=1e-4, atol=1e-5, err_msg=f"{meta['name']} ({isa})")


@pytest.mark.parametrize("case", CASES)
def test_converter_fixture_batch_size_independent(case):
    """Each row gives the same output whatever batch it arrives in."""
    io = _load_io(case)
    m = load_file(FIXTURES / case / "model.json")
    inputs = [_array(t) for t in io["inputs"]]

    def run(bs):
        out = m.predict(inputs[0] if len(inputs) == 1 else inputs, batch_size=bs)
        return [np.asarray(o) for o in (out if len(io["outputs"]) > 1 else [out])]

    for a, b in zip(run(io["batch_size"]), run(5)):
        np.testing.assert_array_equal(a, b)


def test_digits_example_matches_keras():
    info = json.loads((DIGITS / "example.json").read_text())
    samples = np.load(DIGITS / "samples.npz")
    m = tfjs_infer.load_model(DIGITS / "model.json")
    probs = np.asarray(m.predict(samples["x"], batch_size=32))
    np.testing.assert_allclose(probs, samples["keras_probs"], rtol=1e-4, atol=1e-5)
    pred = probs.argmax(axis=1)
    assert float((pred == samples["y"]).mean()) == pytest.approx(info["keras_accuracy"])
    sha = hashlib.sha256(pred.astype("<i4").tobytes()).hexdigest()
    assert sha == info["keras_predictions_sha"]
