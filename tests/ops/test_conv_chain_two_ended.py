"""The conv_chain op's batch-1 two-ended mode (TFJS_INFER_CHAIN_TWO_ENDED, on
by default, read when the model is compiled; =0 the banded chunks; =2 the
calling thread takes the bottom end, so that it moves rows upwards even in a
call its worker joins late): where one
image too large for the whole-image modes runs on two threads, one pool job
of two tasks, one thread taking units of output rows from the top down and
the other from the bottom up until they meet, each keeping its expanded rows
from band to band (the lower one upwards). Every output keeps the bits of
the banded chunks (=0) and of one thread: expand chains at stride 1 and 2,
3x3 and 5x5, odd sizes, residuals, channels off the vector width, and stem
chains (stride-1 and stride-2 depthwise), fp32, bf16 and int8 (stems: not in
int8) on every kernel table that has them, at 2, 3 and 4 threads (capped at
this host's cores; the mode runs at two only). Several calls per model: the
meeting point moves with the threads' timing, so the rows computed on either
side of it, and the rows moved upwards, differ from call to call. The pool
trace shows which mode ran: one job of 2 tasks, where the banded chunks run
min(2 x threads, output rows)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from test_conv_chain_own_rows import (
    PRECISION_ISAS,
    assert_same_bits,
    compile_chain_env,
    expand_feeds,
    expand_graph,
    out_dim,
    run_jobs,
)
from test_conv_chain_stem import chain_graph as stem_chain_graph
from test_conv_chain_stem import feeds as stem_feeds
from test_conv_chain_stem import weights as stem_weights

from tfjs_infer import _core

ENV = "TFJS_INFER_CHAIN_TWO_ENDED"
# (h, w, cin, e, cout, k, stride, residual), each expanded image above the
# whole-image modes' 1.5 MiB: odd sizes at stride 1 with a residual, at
# stride 2, a 5x5 depthwise, channels off the vector width.
EXPAND_CASES = [
    (57, 45, 8, 160, 12, 3, 1, True),
    (59, 41, 8, 176, 8, 3, 2, False),
    (44, 50, 8, 192, 8, 5, 1, True),
    (61, 47, 5, 139, 7, 3, 1, False),
]
# test_conv_chain_stem.py's cases (h, w, cin, k, stride, padding, act, e,
# dw_stride, cout, residual): a 64x65 stem output of 64 channels, and one of
# 96 channels with a stride-2 depthwise.
STEM_CASES = [
    (127, 129, 3, 3, 2, "same", "relu6", 64, 1, 24, True),
    (127, 129, 3, 3, 2, "same", "relu6", 96, 2, 24, False),
]


def compile_chain(
    monkeypatch: pytest.MonkeyPatch,
    g: _core.Graph,
    isa: tuple[str, str],
    threads: int,
    two_ended: str,
) -> _core.CompiledModel:
    """Two-ended ("1", "2": the caller from the bottom) or the banded chunks ("0")."""
    return compile_chain_env(monkeypatch, g, isa, threads, {ENV: two_ended})


def check_same_bits(
    monkeypatch: pytest.MonkeyPatch,
    make: Callable[[], _core.Graph],
    x_for: Callable[[int], list[np.ndarray]],
    oh: int,
    isa: tuple[str, str],
    threads: int,
    mode: str,
) -> None:
    """Two-ended (`mode`) against the banded chunks and one thread at batch
    1, bit for bit, over several calls; the jobs each mode ran."""
    two = compile_chain(monkeypatch, make(), isa, threads, mode)
    banded = compile_chain(monkeypatch, make(), isa, threads, "0")
    one = compile_chain(monkeypatch, make(), isa, 1, "1")
    for rep in range(4):
        x = x_for(rep)
        got, two_jobs = run_jobs(two, x)
        want, banded_jobs = run_jobs(banded, x)
        assert_same_bits(got, want, one.run(x)[0])
        assert len(banded_jobs) == 1, banded_jobs
        op_threads = banded_jobs[0]["parts"]
        assert banded_jobs[0]["tasks"] == min(2 * op_threads, oh), banded_jobs
        want_tasks = 2 if op_threads == 2 else min(2 * op_threads, oh)
        assert [j["tasks"] for j in two_jobs] == [want_tasks], two_jobs


@pytest.mark.parametrize("mode", ["1", "2"])
@pytest.mark.parametrize("isa", PRECISION_ISAS, ids=str)
@pytest.mark.parametrize("threads", [2, 3, 4])
@pytest.mark.parametrize("case", EXPAND_CASES, ids=str)
def test_two_ended_keeps_the_banded_bits(
    monkeypatch: pytest.MonkeyPatch, case: tuple, isa: tuple[str, str], threads: int, mode: str
) -> None:
    seed = case[0] * 31 + case[3]
    check_same_bits(
        monkeypatch,
        lambda: expand_graph(case, seed),
        lambda rep: expand_feeds(case, 1, seed + rep),
        out_dim(case[0], case[6]),
        isa,
        threads,
        mode,
    )


@pytest.mark.parametrize("mode", ["1", "2"])
@pytest.mark.parametrize("isa", [p for p in PRECISION_ISAS if p[0] != "int8"], ids=str)
@pytest.mark.parametrize("threads", [2, 4])
@pytest.mark.parametrize("case", STEM_CASES, ids=str)
def test_two_ended_with_a_stem(
    monkeypatch: pytest.MonkeyPatch, case: tuple, isa: tuple[str, str], threads: int, mode: str
) -> None:
    check_same_bits(
        monkeypatch,
        lambda: stem_chain_graph(case, stem_weights(case, 7)),
        lambda rep: stem_feeds(case, 1, seed=rep),
        out_dim(out_dim(case[0], case[4]), case[8]),
        isa,
        threads,
        mode,
    )


@pytest.mark.parametrize("mode", ["1", "2"])
def test_two_ended_concurrent_calls(monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    """Two Python threads calling one two-ended model at once: the call that
    finds the pool busy runs both tasks inline on its own thread (the first
    takes every unit, the second none), and neither waits for the other's
    worker; every output keeps one thread's bits."""
    case = EXPAND_CASES[3]
    seed = 17
    isa = ("fp32", "generic")
    two = compile_chain(monkeypatch, expand_graph(case, seed), isa, 2, mode)
    one = compile_chain(monkeypatch, expand_graph(case, seed), isa, 1, mode)
    feeds = [expand_feeds(case, 1, seed + i) for i in range(8)]
    want = [one.run(x)[0] for x in feeds]
    with ThreadPoolExecutor(max_workers=2) as ex:
        for _ in range(3):
            got = list(ex.map(lambda x: two.run(x)[0], feeds))
            for g, w in zip(got, want):
                assert_same_bits(g, w)
