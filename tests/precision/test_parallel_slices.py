"""Sliced bf16 and int8 calls on several threads run whole slices in parallel,
each slice through the whole graph on one thread (compile/model.cpp
run_slices_parallel; TFJS_INFER_PARALLEL_SLICES=0 runs them one after another,
each op split over the threads). A sample's output never depends on the other
samples or on the thread count: the bits equal those of the whole call on one
thread, and of the switch off, for batches below, at and above the threads,
with uneven shares and a remainder, on a model with two inputs and two
outputs, with a NaN sample; per-op profiles still add up. On every ISA that
has the precision's kernels."""

from __future__ import annotations

import numpy as np
import pytest
from test_lowp_slices import two_io_graph

import tfjs_infer
from tfjs_infer import _core

SLICE_ENV = "TFJS_INFER_LOWP_SLICE_BYTES"
SWITCH_ENV = "TFJS_INFER_PARALLEL_SLICES"
CASES = [(p, isa) for p in ("bf16", "int8") for isa in _core._testing.lowp_isas(p)]


def compiled(
    monkeypatch: pytest.MonkeyPatch,
    precision: str,
    isa: str,
    threads: int,
    slice_bytes: int,
    parallel: bool = True,
) -> _core.CompiledModel:
    monkeypatch.setenv(SLICE_ENV, str(slice_bytes))
    monkeypatch.setenv(SWITCH_ENV, "1" if parallel else "0")
    g = two_io_graph(np.random.default_rng(3))
    return _core.CompiledModel(g, isa=isa, num_threads=threads, precision=precision)


def inputs(rows: int, nan_row: int | None = None) -> list[np.ndarray]:
    rng = np.random.default_rng(rows)
    img = rng.standard_normal((rows, 9, 7, 5)).astype(np.float32)
    row = rng.standard_normal((rows, 11)).astype(np.float32)
    if nan_row is not None:
        img[nan_row, 4, 3, 2] = np.nan
        row[nan_row, 5] = np.nan
    return [img, row]


def per_row_bytes(model: _core.CompiledModel) -> int:
    """The arena's growth per sample (without the scratch every call has)."""
    one, two = (model.workspace_bytes([list(a.shape) for a in inputs(n)]) for n in (1, 2))
    return two - one


def assert_same_bits(got: list[np.ndarray], ref: list[np.ndarray]) -> None:
    for o, r in zip(got, ref):
        np.testing.assert_array_equal(o.view(np.uint32), r.view(np.uint32))


def run_over_nan(model: _core.CompiledModel, x: list[np.ndarray]) -> list[np.ndarray]:
    """model's outputs written over NaN-filled buffers: a slice that never ran
    leaves NaN, not the values a reused allocation happened to hold."""
    types = model.output_types([list(a.shape) for a in x])  # (shape, dtype) pairs
    outs = [np.full(shape, np.nan, np.float32) for shape, _ in types]
    model.run_into(x, outs)
    return outs


@pytest.mark.parametrize(("precision", "isa"), CASES)
@pytest.mark.parametrize("threads", [2, 3])
@pytest.mark.parametrize("rows_per_slice", [1, 2, 3])
def test_parallel_slices_give_one_threads_whole_call_bits(
    monkeypatch: pytest.MonkeyPatch, precision: str, isa: str, threads: int, rows_per_slice: int
) -> None:
    whole = compiled(monkeypatch, precision, isa, 1, 0)
    # A budget of `rows_per_slice` samples per thread (the threads share it).
    budget = threads * (rows_per_slice * per_row_bytes(whole) + 64)
    par = compiled(monkeypatch, precision, isa, threads, budget)
    off = compiled(monkeypatch, precision, isa, threads, budget, parallel=False)
    for batch in (1, 2, 3, 5, 7, 34):
        for nan_row in (None, batch // 2):
            x = inputs(batch, nan_row)
            ref = whole.run(x)
            assert_same_bits(run_over_nan(par, x), ref)
            assert_same_bits(run_over_nan(off, x), ref)
            if nan_row is not None:  # the NaN stays in its sample
                others = np.arange(batch) != nan_row
                assert all(np.isfinite(r[others]).all() for r in ref)


@pytest.mark.parametrize(("precision", "isa"), CASES)
def test_slices_run_in_one_parallel_job(
    monkeypatch: pytest.MonkeyPatch, precision: str, isa: str
) -> None:
    """At 2 threads and 1-sample slices a batch of 7 runs as one pool job of
    6 slices (3 a thread, the ops inside inline) and the last sample split
    over the threads; with the switch off no job has 6 tasks, and each slice's
    plan is the 1-sample plan (2-sample slices would add plans)."""
    whole = compiled(monkeypatch, precision, isa, 1, 0)
    budget = 2 * per_row_bytes(whole)  # one sample a thread
    x = inputs(7)
    ref = whole.run(x)
    for parallel in (True, False):
        model = compiled(monkeypatch, precision, isa, 2, budget, parallel)
        model.run(x)  # plans and workspaces
        plans = model.num_plans
        _core._testing.pool_trace(True)
        try:
            got = run_over_nan(model, x)
        finally:
            _core._testing.pool_trace(False)
        jobs = _core._testing.pool_trace_take()
        assert_same_bits(got, ref)
        assert model.num_plans == plans
        six = [j for j in jobs if j["tasks"] == 6]
        if parallel:
            assert len(six) == 1 and sum(six[0]["ran"]) == 6, jobs
        else:
            assert not six, jobs


@pytest.mark.parametrize(("precision", "isa"), CASES)
def test_profile_sums_over_slices_at_two_threads(
    monkeypatch: pytest.MonkeyPatch, precision: str, isa: str
) -> None:
    model = compiled(monkeypatch, precision, isa, 2, 1)
    x = inputs(6)
    us = model.profile(x, 2)
    assert len(us) == len(model.ops()) and all(t >= 0 for t in us) and sum(us) > 0
    whole = compiled(monkeypatch, precision, isa, 1, 0)
    assert_same_bits(run_over_nan(model, x), whole.run(x))


@pytest.mark.parametrize("isa", tfjs_infer.available_isas())
@pytest.mark.parametrize("threads", [2, 3])
def test_fp32_parts_give_one_threads_bits(
    monkeypatch: pytest.MonkeyPatch, isa: str, threads: int
) -> None:
    """TFJS_INFER_FP32_PARTS=1 (an experiment, off by default): an fp32 call
    on several threads runs one part of batch / threads samples a thread, in
    one pool job, the rest split per op; the bits stay those of one thread."""
    monkeypatch.delenv(SLICE_ENV, raising=False)
    monkeypatch.setenv("TFJS_INFER_FP32_PARTS", "1")
    g = two_io_graph(np.random.default_rng(3))
    parts = _core.CompiledModel(g, isa=isa, num_threads=threads)
    monkeypatch.setenv("TFJS_INFER_FP32_PARTS", "0")
    one = _core.CompiledModel(g, isa=isa, num_threads=1)
    for batch in (1, 2, 3, 7, 34):
        x = inputs(batch, batch // 2)
        assert_same_bits(run_over_nan(parts, x), one.run(x))
    x = inputs(7)
    _core._testing.pool_trace(True)
    try:
        parts.run(x)
    finally:
        _core._testing.pool_trace(False)
    # One job of `threads` parts (2 samples each at 3 threads, 3 at 2).
    assert [j for j in _core._testing.pool_trace_take() if j["tasks"] == threads]
