"""Compare tfjs_infer with reference outputs computed by real TensorFlow.js.

Every folder under tests/fixtures/tfjs/ that holds an io.json is one case: a
model.json (+ weight shards) saved by TF.js 4.22 and the inputs/outputs of
TF.js's LayersModel.predict on it. See tests/fixtures/tfjs/README.md for how
the fixtures were made and how to regenerate them. Each case runs under every
instruction set this machine has (the file is read once, compiled per ISA).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fixture_utils import ISAS, load_file

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "tfjs"
CASES = (
    sorted(p.name for p in FIXTURES.iterdir() if (p / "io.json").is_file())
    if FIXTURES.is_dir()
    else []
)

RTOL = 1e-4
ATOL = 1e-5


def _io(case: str) -> dict:
    with open(FIXTURES / case / "io.json", encoding="utf-8") as f:
        return json.load(f)


def _arrays(records: list[dict]) -> list[np.ndarray]:
    return [np.asarray(r["data"], dtype=np.dtype(r["dtype"])).reshape(r["shape"]) for r in records]


def _inputs(io: dict):
    xs = _arrays(io["inputs"])
    return xs[0] if len(xs) == 1 else xs


def _as_list(got, n_outputs: int, case: str) -> list[np.ndarray]:
    if n_outputs == 1:
        assert isinstance(got, np.ndarray), (
            f"{case}: single-output model should return an ndarray, got {type(got)}"
        )
        return [got]
    assert isinstance(got, (list, tuple)), (
        f"{case}: multi-output model should return a list, got {type(got)}"
    )
    assert len(got) == n_outputs, f"{case}: expected {n_outputs} outputs, got {len(got)}"
    return [np.asarray(g) for g in got]


def _model(case: str, isa: str | None = None):
    return load_file(FIXTURES / case / "model.json", isa)


def test_fixtures_present():
    assert len(CASES) > 0, f"no TF.js fixtures found under {FIXTURES}"


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("case", CASES)
def test_matches_tfjs(case, isa):
    io = _io(case)
    refs = _arrays(io["outputs"])
    got = _model(case, isa).predict(_inputs(io), batch_size=io["batch_size"])
    got = _as_list(got, len(refs), case)
    for i, (g, r, rec) in enumerate(zip(got, refs, io["outputs"])):
        what = f"case {case} ({isa}), output {i} ({rec['name']})"
        assert g.shape == r.shape, f"{what}: shape {g.shape}, TF.js {r.shape}"
        assert g.dtype == r.dtype, f"{what}: dtype {g.dtype}, TF.js {r.dtype}"
        err = np.abs(g.astype(np.float64) - r.astype(np.float64))
        print(
            f"{what}: max abs err {err.max():.3g}, "
            f"max err/allowed {(err / (ATOL + RTOL * np.abs(r))).max():.3g}"
        )
        np.testing.assert_allclose(g, r, rtol=RTOL, atol=ATOL, err_msg=what)


@pytest.mark.parametrize("case", CASES)
def test_batch_size_does_not_change_result(case):
    io = _io(case)
    n_outputs = len(io["outputs"])
    model = _model(case)
    default = _as_list(model.predict(_inputs(io)), n_outputs, case)
    small = _as_list(model.predict(_inputs(io), batch_size=3), n_outputs, case)
    for i, (d, s) in enumerate(zip(default, small)):
        what = f"case {case}, output {i}: batch_size=3 vs default"
        assert d.shape == s.shape and d.dtype == s.dtype, what
        assert np.ascontiguousarray(d).tobytes() == np.ascontiguousarray(s).tobytes(), (
            f"{what}: not bitwise equal"
        )
