"""How the ops with weights split their work across threads (ops/gemm_driver.cpp's
plan_gemm_split: row blocks or column panel groups, several tasks per thread;
the recurrent ops' row blocks): every split gives the bits of one thread, at odd
shapes and 1, 2 and 3 threads, and the forced kinds (TFJS_INFER_GEMM_SPLIT,
TFJS_INFER_GEMM_TASKS) give them too. The pool's job trace shows the loops did run
on several threads, so a test cannot pass by staying on one."""

from __future__ import annotations

import hashlib
import os

import numpy as np
import pytest

import tfjs_infer
from child_process import run_json_child
from tfjs_infer import _core
from thread_checks import assert_one_threads_bits, traced_run

ISAS = tfjs_infer.available_isas()
# (k, n): columns that are not a multiple of any panel width, 1-3 panels, many panels.
DENSE_SHAPES = [(300, 97), (784, 513), (129, 33)]
ROWS = [1, 5, 31, 32, 33, 67, 300]


def _dense(isa: str, k: int, n: int, threads: int, act: str = "relu") -> _core.CompiledModel:
    rng = np.random.default_rng(k * 1000 + n)
    g = _core.Graph()
    x = g.add_input("x", [None, k], "float32")
    w = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    (y,) = g.add_op("dense", "d", [x], {"activation": act}, {"kernel": w, "bias": b})
    g.set_outputs([y])
    return _core.CompiledModel(g, isa=isa, num_threads=threads)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("k,n", DENSE_SHAPES)
def test_dense_split_gives_one_threads_bits(isa: str, k: int, n: int) -> None:
    x = np.random.default_rng(5).standard_normal((max(ROWS), k)).astype(np.float32)
    assert_one_threads_bits(lambda threads: _dense(isa, k, n, threads), x, ROWS)
    one = _dense(isa, k, n, 1)
    w_ref = np.maximum(x[:33].astype(np.float64) @ _weights(k, n)[0] + _weights(k, n)[1], 0)
    np.testing.assert_allclose(one.run([x[:33]])[0], w_ref, rtol=1e-4, atol=1e-4)


def _weights(k: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """_dense's weights (same seed), for the numpy check."""
    rng = np.random.default_rng(k * 1000 + n)
    w = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
    return w.astype(np.float64), rng.standard_normal(n).astype(np.float32).astype(np.float64)


def test_dense_softmax_rows_whole_under_a_column_split() -> None:
    """A row op (softmax) runs after a column split, over whole rows."""
    x = np.random.default_rng(9).standard_normal((20, 784)).astype(np.float32)
    ref = _dense(ISAS[-1], 784, 513, 1, "softmax").run([x])[0]
    for threads in (2, 3):
        got = _dense(ISAS[-1], 784, 513, threads, "softmax").run([x])[0]
        np.testing.assert_array_equal(got, ref)
    np.testing.assert_allclose(ref.sum(axis=1), 1.0, rtol=1e-5)


def _pointwise(threads: int, cin: int, cout: int) -> _core.CompiledModel:
    rng = np.random.default_rng(cin + cout)
    g = _core.Graph()
    x = g.add_input("x", [None, 9, 7, cin], "float32")
    w = rng.standard_normal((1, 1, cin, cout)).astype(np.float32)
    attrs = {"strides": [1, 1], "padding": "valid", "activation": "relu"}
    (y,) = g.add_op("conv2d", "c", [x], attrs, {"kernel": w})
    g.set_outputs([y])
    return _core.CompiledModel(g, num_threads=threads)


@pytest.mark.parametrize("cin,cout", [(67, 129), (256, 33), (3, 513)])
def test_pointwise_conv_split_gives_one_threads_bits(cin: int, cout: int) -> None:
    """1x1 convolutions go through gemm_run_parallel (m = pixels)."""
    x = np.random.default_rng(1).standard_normal((5, 9, 7, cin)).astype(np.float32)
    assert_one_threads_bits(lambda threads: _pointwise(threads, cin, cout), x, (1, 2, 5), "batch")


def _lstm(threads: int) -> _core.CompiledModel:
    rng = np.random.default_rng(2)
    g = _core.Graph()
    x = g.add_input("x", [None, 6, 24], "float32")
    w = {
        "kernel": (rng.standard_normal((24, 4 * 40)) * 0.2).astype(np.float32),
        "recurrent_kernel": (rng.standard_normal((40, 4 * 40)) * 0.2).astype(np.float32),
        "bias": rng.standard_normal(4 * 40).astype(np.float32),
    }
    (y,) = g.add_op("rnn", "lstm", [x], {"cell": "lstm", "units": 40}, w)
    g.set_outputs([y])
    return _core.CompiledModel(g, num_threads=threads)


def test_recurrent_row_blocks_give_one_threads_bits() -> None:
    x = np.random.default_rng(4).standard_normal((131, 6, 24)).astype(np.float32)
    one = _lstm(1)
    full = one.run([x])[0]
    several = False
    for threads in (2, 3):
        model = _lstm(threads)
        for rows in (1, 17, 33, 64, 131):
            got, split = traced_run(model, x[:rows])
            several |= split
            np.testing.assert_array_equal(got, full[:rows])
    assert several


# Each forced split in its own process (the variables are read once per process).
CHILD = r"""
import hashlib, json, sys
import numpy as np
from tfjs_infer import _core
sys.path.insert(0, sys.argv[1])
import test_thread_split as t
out = {}
for k, n in t.DENSE_SHAPES:
    x = np.random.default_rng(5).standard_normal((max(t.ROWS), k)).astype(np.float32)
    for threads in (2, 3):
        m = t._dense(t.ISAS[-1], k, n, threads)
        for rows in t.ROWS:
            y = m.run([x[:rows]])[0]
            out[f"{k},{n},{threads},{rows}"] = hashlib.sha256(y.tobytes()).hexdigest()
print(json.dumps(out))
"""


@pytest.mark.parametrize(
    "env",
    [
        {"TFJS_INFER_GEMM_SPLIT": "rows"},
        {"TFJS_INFER_GEMM_SPLIT": "cols"},
        {"TFJS_INFER_GEMM_SPLIT": "rows", "TFJS_INFER_GEMM_TASKS": "3"},
        {"TFJS_INFER_GEMM_SPLIT": "cols", "TFJS_INFER_GEMM_TASKS": "1"},
    ],
)
def test_forced_splits_give_one_threads_bits(env: dict[str, str]) -> None:
    digests = run_json_child(CHILD, {**os.environ, **env}, timeout=300)
    for k, n in DENSE_SHAPES:
        x = np.random.default_rng(5).standard_normal((max(ROWS), k)).astype(np.float32)
        one = _dense(ISAS[-1], k, n, 1)
        for rows in ROWS:
            ref = hashlib.sha256(one.run([x[:rows]])[0].tobytes()).hexdigest()
            for threads in (2, 3):
                assert digests[f"{k},{n},{threads},{rows}"] == ref, (env, k, n, threads, rows)


def test_pool_trace_counts_every_task() -> None:
    _core._testing.pool_trace_take()
    _core._testing.pool_trace(True)
    try:
        _core._testing.pool_run(24, 2, task_us=20.0)
    finally:
        _core._testing.pool_trace(False)
    jobs = _core._testing.pool_trace_take()
    assert len(jobs) == 1
    (job,) = jobs
    assert job["tasks"] == 24 and job["parts"] == 2
    assert sum(job["ran"]) == 24
    assert len(job["busy_cpu_ns"]) == 2 and len(job["busy_wall_ns"]) == 2
    assert job["wall_ns"] >= max(job["busy_wall_ns"]) >= 0
    # Each task spins 20 us: the tasks' wall time is there in full.
    assert sum(job["busy_wall_ns"]) >= 24 * 20_000
    assert _core._testing.pool_trace_take() == []  # taken


def test_owned_loops_give_each_thread_its_own_run() -> None:
    """parallel_for_owned (the GEMM splits): the caller owns tasks 0-7, the
    worker 8-15, each takes from the other's run only once its own is empty,
    so whichever run empties first was emptied by its owner alone: the worker
    ran none of 0-7 or all of 8-15, whatever the timing (test_runtime's
    affinity test shows a shared run breaks this)."""
    runs = []
    for _ in range(5):
        _core._testing.pool_run(2, 2)  # the worker awake
        r = _core._testing.pool_run(16, 2, task_us=1000.0, owned=True)
        assert r["runs"] == [1] * 16
        runs.append(r["worker"])
    assert any(1 in r for r in runs), runs  # the worker took part at least once
    for r in runs:
        assert sum(w == 1 for w in r[:8]) == 0 or sum(w == 1 for w in r[8:]) == 8, runs
