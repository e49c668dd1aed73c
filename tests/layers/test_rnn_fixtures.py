"""Sequence models (issue 5) against real TF.js: every case under
tests/fixtures/tfjs_rnn/ (made by its make_fixtures.mjs), plus bitwise
invariance to batch size, thread count and call history. Every case runs under
every instruction set this machine has."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import tfjs_infer
from fixture_utils import (
    ISAS,
    arrays,
    as_list,
    case_dirs,
    case_id,
    check_calls,
    check_case,
    load,
    model_path,
    read_io,
)

TFJS = case_dirs("tfjs_rnn")
PLAIN = [c for c in TFJS if "calls" not in read_io(c)]
STATEFUL = [c for c in TFJS if "calls" in read_io(c)]


def test_fixtures_present() -> None:
    assert len(PLAIN) >= 60 and len(STATEFUL) >= 4


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("case", PLAIN, ids=case_id)
def test_matches_tfjs(case: Path, isa: str) -> None:
    check_case(case, isa=isa)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("case", STATEFUL, ids=case_id)
def test_stateful_calls_match_tfjs(case: Path, isa: str) -> None:
    check_calls(case, isa=isa)


@pytest.mark.parametrize("case", PLAIN, ids=case_id)
def test_bitwise_across_batch_sizes_and_threads(case: Path) -> None:
    io = read_io(case)
    xs = arrays(io["inputs"])
    x = xs[0] if len(xs) == 1 else xs
    n = len(io["outputs"])
    ref = as_list(load(case).predict(x), n)
    for bs in (1, 2, 3):
        got = as_list(load(case).predict(x, batch_size=bs), n)
        for a, b in zip(ref, got):
            np.testing.assert_array_equal(a, b, err_msg=f"batch_size={bs}")
    for threads in (1, 2):
        m = tfjs_infer.load_model(model_path(case), num_threads=threads)
        got = as_list(m.predict(x), n)
        for a, b in zip(ref, got):
            np.testing.assert_array_equal(a, b, err_msg=f"num_threads={threads}")


@pytest.mark.parametrize("case", STATEFUL, ids=case_id)
def test_stateful_bitwise_across_threads(case: Path) -> None:
    one = check_calls(case, num_threads=1)
    two = check_calls(case, num_threads=2)
    for call_a, call_b in zip(one, two):
        for a, b in zip(call_a, call_b):
            np.testing.assert_array_equal(a, b)


def _stateful_model() -> tuple[tfjs_infer.Model, dict]:
    case = next(c for c in STATEFUL if c.name == "stateful_lstm")
    return tfjs_infer.load_model(model_path(case)), read_io(case)


def test_stateful_state_carries_and_resets() -> None:
    model, io = _stateful_model()
    assert model.stateful
    x = arrays(io["calls"][0]["inputs"])[0]
    first = model.predict(x)
    second = model.predict(x)
    assert not np.array_equal(first, second)  # the state carried over
    model.reset_states()
    np.testing.assert_array_equal(model.predict(x), first)
    # predict_on_batch carries state too, one batch at a time.
    model.reset_states()
    b = io["batch_size"]
    np.testing.assert_array_equal(model.predict_on_batch(x[:b]), first[:b])


def test_stateful_rejects_other_batch_sizes() -> None:
    model, io = _stateful_model()
    x = arrays(io["calls"][0]["inputs"])[0]
    b = io["batch_size"]
    with pytest.raises(ValueError, match="batch_size must be"):
        model.predict(x, batch_size=b + 1)
    with pytest.raises(tfjs_infer.InputShapeError, match="multiple of"):
        model.predict(x[: b + 1])
    # Nothing ran: the state is still zero.
    out = model.predict(x)
    np.testing.assert_allclose(out, arrays(io["calls"][0]["outputs"])[0], rtol=1e-4, atol=1e-5)
    assert model.predict(x[:0]).shape == (0, *out.shape[1:])


def test_non_stateful_reset_is_a_noop() -> None:
    model = load(PLAIN[0])
    assert not model.stateful
    model.reset_states()
