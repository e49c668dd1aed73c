"""NaN, +inf and -inf propagate as the reference framework propagates them.

tests/fixtures/nonfinite/ holds the same small models run on inputs holding
non-finite values by real TF.js 4.22 (tfjs/, model.json: tfjs semantics), by
tf_keras 2.21 (keras2/, .h5) and by Keras 3 (keras3/, .keras); see
make_cases.py, make_tfjs.cjs and make_keras.py there. Every case runs under
every ISA this machine has (TFJS_INFER_ISA's choices): the finite outputs
must match within the fixture tolerance and the NaN / +inf / -inf cells must
be exactly where the framework put them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import tfjs_infer

ROOT = Path(__file__).resolve().parent.parent / "fixtures" / "nonfinite"
FLAVOURS = ("tfjs", "keras2", "keras3")
ISAS = tfjs_infer.available_isas()
RTOL = 1e-4
ATOL = 1e-5


def _cases() -> list[tuple[str, str]]:
    return [
        (flavour, case.name)
        for flavour in FLAVOURS
        for case in sorted((ROOT / flavour).iterdir())
        if (case / "io.json").is_file()
    ]


CASES = _cases()


def _arrays(records: list[dict]) -> list[np.ndarray]:
    return [np.asarray(r["data"], dtype=np.float32).reshape(r["shape"]) for r in records]


def _check(got: list[np.ndarray], refs: list[np.ndarray], what: str) -> None:
    for i, (g, r) in enumerate(zip(got, refs)):
        assert g.shape == r.shape, f"{what}, output {i}: shape {g.shape}, reference {r.shape}"
        for name, test in (("NaN", np.isnan), ("+inf", np.isposinf), ("-inf", np.isneginf)):
            wrong = np.argwhere(test(g) != test(r))
            assert not wrong.size, (
                f"{what}, output {i}: {name} cells differ from the reference at "
                f"{[tuple(int(v) for v in w) for w in wrong[:5]]} (got {g[tuple(wrong[0])]}, "
                f"reference {r[tuple(wrong[0])]})"
            )
        np.testing.assert_allclose(g, r, rtol=RTOL, atol=ATOL, equal_nan=True, err_msg=what)


def test_fixtures_cover_every_flavour() -> None:
    for flavour in FLAVOURS:
        assert sum(f == flavour for f, _ in CASES) >= 70, f"{flavour}: fixtures missing"


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize(("flavour", "case"), CASES, ids=[f"{f}/{c}" for f, c in CASES])
def test_nonfinite_matches_framework(flavour: str, case: str, isa: str) -> None:
    folder = ROOT / flavour / case
    io = json.loads((folder / "io.json").read_text(encoding="utf-8"))
    xs = _arrays(io["inputs"])
    refs = _arrays(io["outputs"])
    model = tfjs_infer.load_model(folder / io.get("model_file", "model.json"), isa=isa)
    x = xs[0] if len(xs) == 1 else xs
    with np.errstate(all="ignore"):
        got = model.predict(x, batch_size=io["batch_size"])
    got = [got] if isinstance(got, np.ndarray) else list(got)
    _check(got, refs, f"{flavour}/{case} ({isa})")
    # One row at a time gives the same bits (non-finite rows do not leak).
    with np.errstate(all="ignore"):
        single = model.predict(x, batch_size=1)
    single = [single] if isinstance(single, np.ndarray) else list(single)
    for a, b in zip(got, single):
        np.testing.assert_array_equal(a, b, err_msg=f"{flavour}/{case} ({isa}) batch 1")
