"""Sequence models (issue 5) against real Keras: every case under
tests/fixtures/keras_rnn/ (made by its make_fixtures.py). k2_* cases are
tf_keras models (model.h5, Keras 2 semantics) also converted to model.json and
run by real TF.js; k3_* cases are Keras 3 models (model.keras). Every case runs
under every instruction set this machine has (the generic GRU reset_after
kernel is reached only here and in tests/kernels/test_rnn_gates.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tfjs_infer
from fixture_utils import (
    ATOL,
    ISAS,
    RTOL,
    arrays,
    as_list,
    case_dirs,
    case_id,
    check_calls,
    load_file,
    read_io,
)

CASES = case_dirs("keras_rnn")
PLAIN = [c for c in CASES if "calls" not in read_io(c)]
STATEFUL = [c for c in CASES if "calls" in read_io(c)]
# Where TF.js refuses a converted file (GRU reset_after=True...), tfjs_infer
# runs it with TF.js semantics, which Keras's outputs show only where the two
# agree: not for masked Bidirectional sequences (TF.js carries values where
# Keras writes zeros) nor for the state order of stacked cells (TF.js lists
# them last cell first).
SEMANTICS_DIFFER = ("k2_mask_bidi_seq_", "k2_stacked_return_state", "k2_stacked_initial_state")
CONVERTED = [
    c
    for c in CASES
    if "tfjs" in read_io(c)
    and ("error" not in read_io(c)["tfjs"] or not c.name.startswith(SEMANTICS_DIFFER))
]


def _calls(io: dict[str, Any], refs: dict[str, Any]) -> list[dict[str, Any]]:
    """[{reset_before, inputs, outputs}] with the reference outputs of `refs`."""
    if "calls" in io:
        return [
            {**c, "outputs": r["outputs"] if isinstance(r, dict) else r}
            for c, r in zip(io["calls"], refs["calls"])
        ]
    return [{"reset_before": False, "inputs": io["inputs"], "outputs": refs["outputs"]}]


def _check(
    path: Path,
    calls: list[dict[str, Any]],
    batch_size: int,
    what: str,
    isa: str | None = None,
    semantics: str = "auto",
) -> None:
    # A stateful model (io.json "calls") carries its state: a fresh one each time.
    stateful = len(calls) > 1 or calls[0]["reset_before"]
    if stateful or semantics != "auto":
        model = tfjs_infer.load_model(path, isa=isa, semantics=semantics)
    else:
        model = load_file(path, isa)
    for k, call in enumerate(calls):
        if call["reset_before"]:
            model.reset_states()
        xs = arrays(call["inputs"])
        want = arrays(call["outputs"])
        got = as_list(
            model.predict(xs[0] if len(xs) == 1 else xs, batch_size=batch_size), len(want)
        )
        for i, (g, r) in enumerate(zip(got, want)):
            assert g.shape == r.shape, f"{what} call {k} output {i}: {g.shape} vs {r.shape}"
            np.testing.assert_allclose(
                g, r, rtol=RTOL, atol=ATOL, err_msg=f"{what} call {k} output {i}"
            )


def test_fixtures_present() -> None:
    assert len(CASES) >= 50 and len(STATEFUL) == 4 and len(CONVERTED) >= 20


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_keras_file_matches_keras(case: Path, isa: str) -> None:
    """model.h5 (Keras 2) / model.keras (Keras 3) against Keras's predict."""
    io = read_io(case)
    what = f"{case_id(case)} ({isa})"
    _check(case / io["model_file"], _calls(io, io), io["batch_size"], what, isa)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("case", CONVERTED, ids=case_id)
def test_converted_model_json(case: Path, isa: str) -> None:
    """The converter's model.json: against TF.js where TF.js runs it; where TF.js
    refuses the file (GRU reset_after=True, Keras backward_layer, Keras stacked
    cell weight names), tfjs_infer follows Keras."""
    io = read_io(case)
    tfjs = io["tfjs"]
    refs = io if "error" in tfjs else tfjs
    what = f"{case_id(case)} model.json ({isa})"
    # semantics="tfjs": auto gives a converted file the numbers of its Keras
    # (tests/semantics/test_converted_rnn.py checks those).
    _check(case / tfjs["model_file"], _calls(io, refs), io["batch_size"], what, isa, "tfjs")


def test_tfjs_and_keras_differ_where_documented() -> None:
    """The fixtures really show the two semantics apart (so the tests above
    check the choice): Bidirectional masked steps, and a masked first step with
    an initial state."""
    for name in ("k2_mask_bidi_seq_concat", "k2_mask_initial_state"):
        io = read_io(next(c for c in CASES if c.name == name))
        k = arrays(io["outputs"])[0]
        t = arrays(io["tfjs"]["outputs"])[0]
        assert np.abs(k - t).max() > 1e-2, name


@pytest.mark.parametrize("case", PLAIN, ids=case_id)
def test_keras_bitwise_across_batch_sizes(case: Path) -> None:
    io = read_io(case)
    xs = arrays(io["inputs"])
    x = xs[0] if len(xs) == 1 else xs
    model = load_file(case / io["model_file"])
    n = len(io["outputs"])
    ref = as_list(model.predict(x), n)
    for bs in (1, 3):
        for a, b in zip(ref, as_list(model.predict(x, batch_size=bs), n)):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("case", STATEFUL, ids=case_id)
def test_keras_stateful(case: Path, isa: str) -> None:
    check_calls(case, isa=isa)
