"""Fixtures that separate semantics the frameworks disagree on
(tests/fixtures/divergence/, made by make_keras.py and make_tfjs.mjs there).

- hard_sigmoid: clip(0.2 x + 0.5) in TF.js 4.22 and Keras 2, clip(x / 6 + 0.5)
  in Keras 3, as an activation and as an LSTM's recurrent activation; the same
  inputs and LSTM weights (spec.json) run by all three frameworks.
- gelu: the tanh approximation (tf.nn.gelu(approximate=True) in a tf_keras
  file) against the erf form (approximate=False, Activation("gelu")), scaled
  by 1000 so the difference dominates.

Each case must match its own framework under every ISA, and each test below
shows the other semantics' formula (and the other framework's real outputs)
missing the reference by at least 100 times the tolerance, so a loader that
picked the wrong formula cannot pass. TF.js's gelu (erf by Abramowitz-Stegun
7.1.26) is not here: it differs from the exact erf form by about one float32
rounding, below any useful tolerance (see tests/fixtures/divergence/README.md).
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pytest

from fixture_utils import (
    ATOL,
    FIXTURES,
    ISAS,
    RTOL,
    arrays,
    case_dirs,
    case_id,
    check_case,
    read_io,
)

HERE = FIXTURES / "divergence"
CASES = case_dirs("divergence")
SPEC = json.loads((HERE / "spec.json").read_text(encoding="utf-8"))
MARGIN = 100.0  # how many tolerances the wrong semantics must miss by
HARD_SIGMOID = {"0.2": (0.2, 0.5), "1/6": (1.0 / 6.0, 0.5)}
FORMULA_OF = {"k2_hard_sigmoid": "0.2", "tfjs_hard_sigmoid": "0.2", "k3_hard_sigmoid": "1/6"}


def _case(name: str) -> Path:
    return HERE / name


def _misses_by(got: np.ndarray, ref: np.ndarray) -> float:
    """Largest |got - ref| in units of the fixture tolerance."""
    ref64 = ref.astype(np.float64)
    return float((np.abs(got - ref64) / (ATOL + RTOL * np.abs(ref64))).max())


def _hard_sigmoid(x: np.ndarray, formula: str) -> np.ndarray:
    slope, offset = HARD_SIGMOID[formula]
    return np.clip(slope * x.astype(np.float64) + offset, 0.0, 1.0)


def _lstm(seq: np.ndarray, formula: str) -> np.ndarray:
    """Keras/TF.js LSTM (gates i, f, c, o; tanh cell) in float64, last output."""
    w = SPEC["lstm"]
    kernel, recurrent, bias = (
        np.asarray(w[k], np.float64) for k in ("kernel", "recurrent_kernel", "bias")
    )
    u = recurrent.shape[0]
    h = np.zeros((seq.shape[0], u))
    c = np.zeros_like(h)
    for t in range(seq.shape[1]):
        z = seq[:, t].astype(np.float64) @ kernel + h @ recurrent + bias
        i, f = _hard_sigmoid(z[:, :u], formula), _hard_sigmoid(z[:, u : 2 * u], formula)
        g, o = np.tanh(z[:, 2 * u : 3 * u]), _hard_sigmoid(z[:, 3 * u :], formula)
        c = f * c + i * g
        h = o * np.tanh(c)
    return h


def _gelu(x: np.ndarray, form: str) -> np.ndarray:
    x = x.astype(np.float64)
    if form == "tanh":
        return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))
    erf = np.vectorize(math.erf, otypes=[np.float64])
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def test_cases_present() -> None:
    names = {c.name for c in CASES}
    assert {
        "k2_hard_sigmoid",
        "k3_hard_sigmoid",
        "tfjs_hard_sigmoid",
        "k2_gelu_approximate",
    } <= names


def test_fixture_files_match_manifest() -> None:
    manifest = json.loads((HERE / "MANIFEST.json").read_text(encoding="utf-8"))
    assert sorted(manifest["cases"]) == sorted(c.name for c in CASES)
    for case, entry in manifest["cases"].items():
        for name, digest in entry["files"].items():
            assert hashlib.sha256((HERE / case / name).read_bytes()).hexdigest() == digest, case
    assert hashlib.sha256((HERE / "spec.json").read_bytes()).hexdigest() == manifest["spec.json"]


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_matches_its_framework(case: Path, isa: str) -> None:
    check_case(case, isa=isa)


@pytest.mark.parametrize("name", sorted(FORMULA_OF))
def test_hard_sigmoid_other_formula_fails(name: str) -> None:
    """The documented formula reproduces the framework's outputs; the other
    framework's formula misses them by >= 100 tolerances, for the activation
    and for the LSTM's gates."""
    io = read_io(_case(name))
    x, seq = arrays(io["inputs"])
    act_ref, lstm_ref = arrays(io["outputs"])
    own = FORMULA_OF[name]
    other = "1/6" if own == "0.2" else "0.2"
    assert _misses_by(_hard_sigmoid(x, own), act_ref) <= 1.0
    assert _misses_by(_lstm(seq, own), lstm_ref) <= 1.0
    assert _misses_by(_hard_sigmoid(x, other), act_ref) >= MARGIN
    assert _misses_by(_lstm(seq, other), lstm_ref) >= MARGIN


def test_hard_sigmoid_frameworks_disagree_on_the_same_numbers() -> None:
    """Real outputs side by side: TF.js and Keras 2 agree; Keras 3 misses both
    by >= 100 tolerances on every output."""
    outs = {n: arrays(read_io(_case(n))["outputs"]) for n in FORMULA_OF}
    for a, b in zip(outs["tfjs_hard_sigmoid"], outs["k2_hard_sigmoid"]):
        assert _misses_by(a, b) <= 1.0
    for old in ("tfjs_hard_sigmoid", "k2_hard_sigmoid"):
        for a, b in zip(outs["k3_hard_sigmoid"], outs[old]):
            assert _misses_by(a, b) >= MARGIN, old


def test_gelu_tanh_and_erf_forms_are_told_apart() -> None:
    io = read_io(_case("k2_gelu_approximate"))
    (x,) = arrays(io["inputs"])
    scale = io["semantics"]["scale"]
    forms = io["semantics"]["forms"]
    for ref, form in zip(arrays(io["outputs"]), forms):
        other = "erf" if form == "tanh" else "tanh"
        assert _misses_by(scale * _gelu(x, form), ref) <= 1.0, form
        assert _misses_by(scale * _gelu(x, other), ref) >= MARGIN, form
