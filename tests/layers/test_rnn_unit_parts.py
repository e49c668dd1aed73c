"""A fused LSTM / SimpleRNN step at batch 1 runs as parts by units (UnitParts in
cpp/ops/recurrent.cpp), shared step by step by two threads: each row must keep
the bits it gets in a batch (the GEMM path) and with the parts off
(TFJS_INFER_RNN_UNIT_PARTS=0: the whole one-row GEMV, which one thread always
runs), at 1, 2 and 3 threads, on every ISA, and the 2-thread batch-1 call must
really run on two threads."""

from __future__ import annotations

import time

import numpy as np
import pytest

from fixture_utils import ISAS
from tfjs_infer import _core
from thread_checks import traced_jobs, traced_run

# (cell, features, units, attrs, parts): 4 F <= units (fused); 128 units cut
# 64 + 64, 116 units 48 + 68, 120 units 48 + 72, 232 units 112 + 120 (tail
# vectors); below kMinSplitStepWork (20x100, 10x40, 24x100 and 44x176) no parts
# are made (parts = False): the whole GEMV runs at any thread count.
CASES = [
    ("lstm", 32, 128, {}, True),
    ("lstm", 28, 116, {"return_sequences": 1, "go_backwards": 1}, True),
    ("lstm", 30, 120, {"return_sequences": 1, "reverse_output": 1, "return_state": 1}, True),
    ("lstm", 20, 100, {"return_sequences": 1, "go_backwards": 1}, False),
    ("lstm", 10, 40, {"return_sequences": 1, "return_state": 1}, False),
    ("simple_rnn", 58, 232, {"return_state": 1, "go_backwards": 1}, True),
    ("simple_rnn", 44, 176, {"return_state": 1}, False),
    ("simple_rnn", 64, 256, {"return_sequences": 1}, True),
]
STEPS = 7


def _model(
    cell: str,
    feats: int,
    units: int,
    attrs: dict,
    isa: str,
    threads: int,
    with_states: bool,
    steps: int = STEPS,
) -> _core.CompiledModel:
    gates = {"lstm": 4, "simple_rnn": 1}[cell]
    rng = np.random.default_rng(units + feats)
    w = {
        "kernel": (rng.uniform(-1, 1, (feats, gates * units)) * np.sqrt(3 / feats)),
        "recurrent_kernel": rng.uniform(-1, 1, (units, gates * units)) * np.sqrt(3 / units),
        "bias": rng.uniform(-0.5, 0.5, gates * units),
    }
    g = _core.Graph()
    ins = [g.add_input("x", [None, steps, feats], "float32")]
    if with_states:
        for name in ("h0", "c0")[: 2 if cell == "lstm" else 1]:
            ins.append(g.add_input(name, [None, units], "float32"))
    outs = g.add_op(
        "rnn",
        "rnn",
        ins,
        {"cell": cell, "units": units, **attrs},
        {k: v.astype(np.float32) for k, v in w.items()},
    )
    g.set_outputs(list(outs))
    return _core.CompiledModel(g, isa=isa, num_threads=threads)


def _inputs(
    cell: str, feats: int, units: int, rows: int, with_states: bool, steps: int = STEPS
) -> list[np.ndarray]:
    rng = np.random.default_rng(9)
    xs = [rng.uniform(-1, 1, (rows, steps, feats)).astype(np.float32)]
    if with_states:
        for _ in range(2 if cell == "lstm" else 1):
            xs.append(rng.uniform(-1, 1, (rows, units)).astype(np.float32))
    return xs


def _traced(model: _core.CompiledModel, xs: list[np.ndarray]) -> tuple[list[np.ndarray], bool]:
    """model's outputs on xs, and whether the call ran a pool job on several threads."""
    _core._testing.pool_trace_take()
    _core._testing.pool_trace(True)
    try:
        got = model.run(xs)
    finally:
        _core._testing.pool_trace(False)
    return got, any(j["parts"] > 1 for j in _core._testing.pool_trace_take())


@pytest.mark.parametrize("with_states", [False, True], ids=["zero_states", "states"])
@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{c[1]}x{c[2]}")
def test_batch1_parts_give_the_rows_bits(
    case: tuple, isa: str, with_states: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    cell, feats, units, attrs, parts = case
    rows = 20  # one GEMM block of 20 rows at 1 thread
    xs = _inputs(cell, feats, units, rows, with_states)
    batch = _model(cell, feats, units, attrs, isa, 1, with_states).run(xs)
    monkeypatch.setenv("TFJS_INFER_RNN_UNIT_PARTS", "0")
    whole = _model(cell, feats, units, attrs, isa, 1, with_states)
    monkeypatch.delenv("TFJS_INFER_RNN_UNIT_PARTS")
    for r in (0, 7, 19):
        one = [x[r : r + 1] for x in xs]
        for a, b in zip(whole.run(one), batch):
            np.testing.assert_array_equal(a, b[r : r + 1], err_msg=f"whole GEMV, row {r}")
    several = False
    for threads in (1, 2, 3):
        model = _model(cell, feats, units, attrs, isa, threads, with_states)
        for r in (0, 7, 19):
            got, split = _traced(model, [x[r : r + 1] for x in xs])
            several |= split
            for a, b in zip(got, batch):
                np.testing.assert_array_equal(a, b[r : r + 1], err_msg=f"{threads}t, row {r}")
    # A late worker can leave a call to the caller alone: a few more tries.
    two = _model(cell, feats, units, attrs, isa, 2, with_states)
    for _ in range(20 if parts and not several else 0):
        several |= _traced(two, [x[:1] for x in xs])[1]
    assert several == parts, "parts on two threads" if parts else "no parts below the threshold"


@pytest.mark.parametrize("isa", ISAS)
def test_batch1_parts_run_on_two_threads(isa: str) -> None:
    # The pool trace shows a job on several threads; a late worker may leave
    # every step to the caller, so a few calls are allowed to find it.
    model = _model("lstm", 32, 128, {}, isa, 2, False)
    x = _inputs("lstm", 32, 128, 1, False)[0]
    ref = _model("lstm", 32, 128, {}, isa, 1, False).run([x])[0]
    several = False
    for _ in range(20):
        got, split = traced_run(model, x)
        np.testing.assert_array_equal(got, ref)
        several |= split
    assert several, "the batch-1 LSTM never ran on two threads"


def test_small_steps_stay_on_one_thread() -> None:
    # 2 x (8 + 32) x 128 = 10240 floating-point operations a step: below
    # kMinSplitStepWork, the hand-off per step would cost more than it saves;
    # 64 steps (655360 in all) are enough work for two threads otherwise.
    model = _model("lstm", 8, 32, {}, "generic", 2, False, steps=64)
    x = _inputs("lstm", 8, 32, 1, False, steps=64)[0]
    assert not traced_run(model, x)[1]
    big = _model("lstm", 8, 128, {}, "generic", 2, False, steps=64)
    assert any(traced_run(big, _inputs("lstm", 8, 128, 1, False, 64)[0])[1] for _ in range(20))


@pytest.mark.parametrize("isa", ISAS)
def test_batch1_parts_with_the_worker_asleep(isa: str) -> None:
    # A short call after idle leaves the sleeping worker asleep: the caller
    # leads, takes part 1 of every step itself, then finds nothing to follow.
    # 3 steps: a call well below kShortCallNs (100 us) on every table; with 7
    # the generic one took ~88 us, and a slower call after idle lifted the
    # average past the threshold in 4 of 12 runs (AMD EPYC Zen 4).
    model = _model("lstm", 8, 128, {}, isa, 2, False, steps=3)
    x = _inputs("lstm", 8, 128, 1, False, steps=3)[0]
    ref = _model("lstm", 8, 128, {}, isa, 1, False, steps=3).run([x])[0]
    for _ in range(30):  # the model's average call time settles below kShortCallNs
        model.run([x])
    alone = False
    for _ in range(5):
        model.run([x])
        time.sleep(0.02)  # the worker sleeps after pool_spin_us()
        got, jobs = traced_jobs(model, x)
        np.testing.assert_array_equal(got, ref)
        alone |= any(j["ran"][0] == j["tasks"] for j in jobs)
    assert alone, "the worker took part in every call after idle"
