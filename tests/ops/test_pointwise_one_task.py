"""A pointwise (1x1, stride 1) conv's split below 64 output pixels
(TFJS_INFER_POINTWISE_ONE_TASK, on by default, read when the op is built;
=0 the GEMM split's four tasks per thread): one share of the columns per
thread. Every output keeps the bits of =0 and of one thread: MobileNetV2's
Conv_1 shape (7x7, 320 -> 1280, channels scaled down), odd sizes, filters off
the panel width, 32 and 63 pixels (the rows where the GEMM split
would give four tasks), fp32, bf16 and int8 on every kernel table, 2, 3 and 4
threads (capped at this host's cores). The pool trace shows the tasks: one
per thread, where =0 runs more; at 64 pixels and above both run the same."""

from __future__ import annotations

import numpy as np
import pytest
from test_conv_chain_own_rows import PRECISION_ISAS, assert_same_bits, rand, run_jobs

from tfjs_infer import _core

ENV = "TFJS_INFER_POINTWISE_ONE_TASK"
# (h, w, cin, cout, residual)
CASES = [
    (7, 7, 80, 320, False),
    (7, 7, 96, 1280, False),
    (5, 11, 33, 517, False),
    (4, 8, 24, 200, False),
    (7, 9, 24, 200, False),
    (9, 7, 40, 300, False),
    (8, 8, 40, 300, False),
]


def pointwise_graph(case: tuple, seed: int) -> _core.Graph:
    """conv2d 1x1 (relu6) (+ residual)."""
    h, w, cin, cout, residual = case
    rng = np.random.default_rng(seed)
    g = _core.Graph()
    v = g.add_input("x", [None, h, w, cin], "float32")
    wk = {"kernel": rand(rng, (1, 1, cin, cout), 0.3), "bias": rand(rng, (cout,), 0.2)}
    (y,) = g.add_op("conv2d", "conv", [v], {"activation": "relu6"}, wk)
    if residual:
        r = g.add_input("r", [None, h, w, cout], "float32")
        (y,) = g.add_op("add", "add", [y, r], {}, {})
    g.set_outputs([y])
    return g


def feeds(case: tuple, seed: int) -> list[np.ndarray]:
    h, w, cin, cout, residual = case
    rng = np.random.default_rng(seed)
    x = [rand(rng, (1, h, w, cin))]
    if residual:
        x.append(rand(rng, (1, h, w, cout)))
    return x


def compile_conv(
    monkeypatch: pytest.MonkeyPatch, case: tuple, isa: tuple[str, str], threads: int, one: str
) -> _core.CompiledModel:
    monkeypatch.setenv(ENV, one)
    model = _core.CompiledModel(
        pointwise_graph(case, 3), isa=isa[1], num_threads=threads, precision=isa[0]
    )
    assert [o[1] for o in model.ops()] == ["conv2d"]
    return model


@pytest.mark.parametrize("isa", PRECISION_ISAS, ids=str)
@pytest.mark.parametrize("threads", [2, 3, 4])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_one_task_keeps_the_bits(
    monkeypatch: pytest.MonkeyPatch, case: tuple, isa: tuple[str, str], threads: int
) -> None:
    one_task = compile_conv(monkeypatch, case, isa, threads, "1")
    four = compile_conv(monkeypatch, case, isa, threads, "0")
    single = compile_conv(monkeypatch, case, isa, 1, "1")
    for rep in range(2):
        x = feeds(case, 7 + rep)
        got, one_jobs = run_jobs(one_task, x)
        want, four_jobs = run_jobs(four, x)
        assert_same_bits(got, want, single.run(x)[0])
        assert len(one_jobs) == 1 and len(four_jobs) == 1, (one_jobs, four_jobs)
        parts = four_jobs[0]["parts"]
        if case[0] * case[1] < 64:
            assert one_jobs[0]["tasks"] == parts, one_jobs
            # Four per thread where the columns have the panels for them.
            assert four_jobs[0]["tasks"] >= parts + (case[3] >= 300), four_jobs
        else:
            assert one_jobs[0]["tasks"] == four_jobs[0]["tasks"], (one_jobs, four_jobs)
