"""The runtime under predict: the thread pool (every task once, nested and
concurrent loops, fork), concurrent predict calls on one model, and the hot
path reading C-contiguous float32 inputs in place."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tfjs_infer
from tfjs_infer import _core

testing = _core._testing
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _mlp(threads: int) -> _core.CompiledModel:
    """An MLP 784-512-512-10: large enough for several threads per layer."""
    rng = np.random.default_rng(5)
    g = _core.Graph()
    x = g.add_input("x", [None, 784], "float32")
    for i, (k, n, act) in enumerate([(784, 512, "relu"), (512, 512, "relu"), (512, 10, "softmax")]):
        w = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
        b = rng.standard_normal(n).astype(np.float32)
        (x,) = g.add_op("dense", f"d{i}", [x], {"activation": act}, {"kernel": w, "bias": b})
    g.set_outputs([x])
    return _core.CompiledModel(g, num_threads=threads)


# -- the pool -------------------------------------------------------------------
@pytest.mark.parametrize("tasks,threads", [(1, 2), (2, 2), (7, 2), (64, 3), (1000, 4), (5, 1)])
def test_pool_runs_every_task_once_with_worker_below_threads(tasks: int, threads: int) -> None:
    r = testing.pool_run(tasks, threads)
    assert r["runs"] == [1] * tasks
    assert all(0 <= w < threads for w in r["worker"])


def test_pool_uses_its_workers() -> None:
    # Tasks of 2 ms each: the caller cannot finish all of them before a
    # worker, woken from sleep, claims some.
    r = testing.pool_run(16, 2, task_us=2000.0)
    assert r["runs"] == [1] * 16
    assert set(r["worker"]) == {0, 1}
    assert len(set(r["thread"])) == 2


def test_sleeping_workers_can_be_left_asleep() -> None:
    # After idle the worker sleeps (it spins 200 us): a short call after idle
    # leaves it asleep and runs every task on the caller; a call that may wake
    # it gets its help (tasks of 2 ms: the woken worker arrives in time).
    testing.pool_run(2, 2)
    time.sleep(0.05)
    r = testing.pool_run(8, 2, task_us=2000.0, keep_asleep=True)
    assert r["runs"] == [1] * 8
    assert set(r["worker"]) == {0}
    time.sleep(0.05)
    r = testing.pool_run(16, 2, task_us=2000.0)
    assert set(r["worker"]) == {0, 1}


_AFFINITY_CHILD = """
import json
from tfjs_infer import _core
runs = []
for _ in range(5):
    _core._testing.pool_run(2, 2)  # the worker awake
    r = _core._testing.pool_run(16, 2, task_us=1000.0)
    assert r["runs"] == [1] * 16
    runs.append(r["worker"])
print(json.dumps(runs))
"""


@pytest.mark.parametrize("affinity", ["0", "1"])
def test_pool_affinity_gives_each_thread_its_own_run(affinity: str) -> None:
    # TFJS_INFER_POOL_AFFINITY=1 (read when the pool starts, so in a child):
    # the caller owns tasks 0-7 and the worker 8-15; each takes from its own
    # run first and from the other's only once its own is empty. So whichever
    # run empties first was emptied by its owner alone: the worker ran either
    # none of 0-7 or all of 8-15, in every run, whatever the timing. Without
    # it, one shared run: a worker that arrives in time takes the next task,
    # so some run shows it on one of 0-7 and not on all of 8-15. Every task
    # runs once either way.
    env = dict(os.environ, TFJS_INFER_POOL_AFFINITY=affinity)
    out = subprocess.run(
        [sys.executable, "-c", _AFFINITY_CHILD],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    runs = json.loads(out.stdout.strip().splitlines()[-1])
    owned = [sum(w == 1 for w in r[:8]) == 0 or sum(w == 1 for w in r[8:]) == 8 for r in runs]
    assert any(1 in r for r in runs), runs  # the worker took part at least once
    if affinity == "1":
        assert all(owned), runs
    else:
        assert not all(owned), runs


def test_pool_nested_loop_runs_inline() -> None:
    r = testing.pool_run(8, 2, task_us=200.0, nested=5)
    assert r["runs"] == [1] * 8
    assert r["nested"] == [5] * 8


def test_pool_concurrent_callers_all_complete() -> None:
    # Several Python threads use the pool at once: one gets it, the others run
    # inline; nobody deadlocks and every task runs once.
    def one(i: int) -> dict:
        return testing.pool_run(50 + i, 2, task_us=20.0, nested=2)

    with ThreadPoolExecutor(8) as ex:
        results = list(ex.map(one, range(32)))
    for i, r in enumerate(results):
        assert r["runs"] == [1] * (50 + i)
        assert r["nested"] == [2] * (50 + i)
        assert all(0 <= w < 2 for w in r["worker"])


def test_workers_start_at_load_not_at_first_call() -> None:
    _mlp(3)
    assert testing.pool_workers() >= 2


# -- concurrent predict on one model ---------------------------------------------
@pytest.mark.parametrize("threads", [1, 2])
def test_concurrent_predict_on_one_model(threads: int) -> None:
    model = _mlp(threads)
    rng = np.random.default_rng(1)
    xs = [rng.standard_normal((b, 784)).astype(np.float32) for b in (1, 3, 33, 1, 17, 48, 2, 9)]
    expected = [model.run([x])[0] for x in xs]
    barrier = threading.Barrier(8)

    def work(i: int) -> bool:
        barrier.wait()
        ok = True
        for k in range(20):
            j = (i + k) % len(xs)
            ok &= bool(np.array_equal(model.run1(xs[j]), expected[j]))
        return ok

    with ThreadPoolExecutor(8) as ex:
        assert all(ex.map(work, range(8)))


def test_concurrent_predict_through_the_public_api() -> None:
    model = tfjs_infer.load_model(FIXTURES / "tfjs" / "dense_mlp" / "model.json", num_threads=2)
    rng = np.random.default_rng(2)
    row = model.inputs[0].shape[1:]
    xs = [rng.standard_normal((n, *row)).astype(np.float32) for n in (1, 5, 40, 100)]
    expected = [model.predict(x) for x in xs]
    with ThreadPoolExecutor(6) as ex:
        got = list(ex.map(lambda i: model.predict(xs[i % 4]), range(120)))
    for i, g in enumerate(got):
        np.testing.assert_array_equal(g, expected[i % 4])


@pytest.mark.skipif(sys.platform != "linux", reason="fork start method is Linux-only here")
def test_predict_in_forked_child_after_parallel_use() -> None:
    model = _mlp(2)
    x = np.random.default_rng(4).standard_normal((64, 784)).astype(np.float32)
    expected = model.run1(x)  # the parent's pool has run jobs
    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    p = ctx.Process(target=_child_predict, args=(model, x, send))
    p.start()
    assert recv.poll(60), "the forked child did not answer"
    got, workers = recv.recv()
    p.join(60)
    assert p.exitcode == 0
    np.testing.assert_array_equal(got, expected)
    assert workers >= 1  # the child started its own workers


def _child_predict(model: _core.CompiledModel, x: np.ndarray, conn: Any) -> None:
    out = model.run1(x)
    conn.send((out, testing.pool_workers()))
    conn.close()


# -- inputs read in place --------------------------------------------------------
def _address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def test_contiguous_float32_input_is_not_copied() -> None:
    model = tfjs_infer.load_model(FIXTURES / "tfjs" / "dense_mlp" / "model.json")
    width = model.inputs[0].shape[1]
    x = np.random.default_rng(0).standard_normal((4, width)).astype(np.float32)
    for call in (
        lambda: model.predict(x),
        lambda: model.predict_on_batch(x),
        lambda: model(x),
        lambda: model.predict([x]),
        lambda: model._core.run([x]),
    ):
        call()
        assert testing.last_input_address() == _address(x)
    # A view into a larger C-contiguous buffer is read in place too.
    big = np.random.default_rng(1).standard_normal((10, width)).astype(np.float32)
    model.predict(big[3:7])
    assert testing.last_input_address() == _address(big) + 3 * width * 4


def test_inputs_needing_conversion_are_copied() -> None:
    # The control: the hook does see a different buffer when a copy is needed.
    model = tfjs_infer.load_model(FIXTURES / "tfjs" / "dense_mlp" / "model.json")
    width = model.inputs[0].shape[1]
    x = np.random.default_rng(0).standard_normal((4, 2 * width)).astype(np.float32)
    strided = x[:, ::2]
    expected = model.predict(np.ascontiguousarray(strided))
    np.testing.assert_array_equal(model.predict(strided), expected)
    assert testing.last_input_address() != _address(strided)
    x64 = strided.astype(np.float64)
    np.testing.assert_array_equal(model.predict(x64), expected)
    assert testing.last_input_address() != _address(x64)


def test_core_refuses_non_contiguous_and_foreign_byte_order() -> None:
    model = _mlp(1)
    x = np.zeros((2, 784 * 2), np.float32)[:, ::2]
    with pytest.raises(tfjs_infer.InputDtypeError, match="C-contiguous"):
        model.run1(x)
    with pytest.raises(tfjs_infer.InputDtypeError, match="float32 or int32"):
        model.run1(np.zeros((2, 784), ">f4"))
    with pytest.raises(tfjs_infer.InputDtypeError, match="numpy array"):
        model.run1([[0.0] * 784])


def test_public_predict_converts_foreign_byte_order() -> None:
    model = tfjs_infer.load_model(FIXTURES / "tfjs" / "dense_mlp" / "model.json")
    x = np.random.default_rng(0).standard_normal((3, model.inputs[0].shape[1])).astype(np.float32)
    np.testing.assert_array_equal(model.predict(x.astype(">f4")), model.predict(x))


def test_hot_path_reuses_plans_and_workspaces() -> None:
    model = _mlp(2)
    x1 = np.zeros((1, 784), np.float32)
    x8 = np.zeros((8, 784), np.float32)
    before = testing.workspaces_made()
    model.run1(x1)
    assert testing.workspaces_made() == before  # batch 1's was built at load
    model.run1(x8)
    assert testing.workspaces_made() == before + 1
    for _ in range(50):
        model.run1(x1)
        model.run1(x8)
        model.run([x8])
    assert testing.workspaces_made() == before + 1
    assert model.num_plans == 2  # the load-time probe (batch 1) and batch 8


def test_profile_times_every_op_of_the_compiled_graph() -> None:
    model = tfjs_infer.load_model(FIXTURES / "tfjs_conv" / "mobilenetv2_block" / "model.json")
    shape = [1 if d is None else d for d in model.inputs[0].shape]
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    rows = model.profile(x, rounds=5)
    ops = model._core.ops()
    assert [(r["name"], r["type"]) for r in rows] == [(name, t) for name, t, _, _ in ops]
    assert any(r["type"] == "conv_chain" for r in rows)  # the fused block is one op
    assert all(r["us"] > 0 for r in rows)
    assert abs(sum(r["share"] for r in rows) - 1.0) < 1e-9


@pytest.mark.parametrize("rounds", [0, -3, 2.5, True, "5"])
def test_profile_refuses_bad_rounds(rounds: Any) -> None:
    model = tfjs_infer.load_model(FIXTURES / "tfjs" / "dense_mlp" / "model.json")
    with pytest.raises(tfjs_infer.errors.InputValueError, match="rounds must be a positive int"):
        model.profile(np.zeros((1, model.inputs[0].shape[1]), np.float32), rounds=rounds)


def test_profile_refuses_stateful_models() -> None:
    model = tfjs_infer.load_model(FIXTURES / "tfjs_rnn" / "stateful_lstm" / "model.json")
    shape = [1 if d is None else d for d in model.inputs[0].shape]
    with pytest.raises(tfjs_infer.errors.TfjsInferError, match="stateful"):
        model.profile(np.zeros(shape, np.float32))
