"""The conv_chain op's batch-1 shared-expand mode
(TFJS_INFER_CHAIN_SHARED_EXPAND, on by default, read when the model is
compiled; =0 own rows): where own rows would run an expand chain on one image,
one pool job instead splits the expand's pixels between the threads into a
shared expanded image, each task waiting inside the job for the others'
pieces, then splits the output pixels (not rows: a chunk may end mid-row, the
depthwise making that row in both chunks). Every output keeps the bits of own
rows (=0) and of one thread: the cases of test_conv_chain_own_rows.py (odd
sizes, stride 1 and 2, 3x3 and 5x5, residuals, channels off the vector width,
three output rows) and a 7x7 MobileNetV2-like block, fp32, bf16 and int8 on
every kernel table that has them, 2, 3 and 4 threads (capped at this host's
cores). The pool trace shows which mode ran: one job of min(threads, output
pixels) tasks, where own rows run min(threads, output rows); a stem chain
keeps own rows."""

from __future__ import annotations

import pytest
from test_conv_chain_own_rows import (
    CASES,
    PRECISION_ISAS,
    STEM_CASE,
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

ENV = "TFJS_INFER_CHAIN_SHARED_EXPAND"
# A MobileNetV2 7x7 block (blocks 14-15, channels scaled down): 49 output
# pixels, split 24/25 on two threads, mid-row.
SHARED_CASES = [*CASES, (7, 7, 40, 240, 40, 3, 1, True)]


def compile_chain(
    monkeypatch: pytest.MonkeyPatch,
    g: _core.Graph,
    isa: tuple[str, str],
    threads: int,
    shared: str,
) -> _core.CompiledModel:
    """Shared expand (shared "1") or own rows ("0"), the mode it replaces."""
    env = {ENV: shared, "TFJS_INFER_CHAIN_OWN_ROWS": "1"}
    return compile_chain_env(monkeypatch, g, isa, threads, env)


@pytest.mark.parametrize("isa", PRECISION_ISAS, ids=str)
@pytest.mark.parametrize("threads", [2, 3, 4])
@pytest.mark.parametrize("case", SHARED_CASES, ids=str)
def test_shared_expand_keeps_the_own_rows_bits(
    monkeypatch: pytest.MonkeyPatch, case: tuple, isa: tuple[str, str], threads: int
) -> None:
    seed = case[0] * 31 + case[3]
    oh, ow = out_dim(case[0], case[6]), out_dim(case[1], case[6])
    shared = compile_chain(monkeypatch, expand_graph(case, seed), isa, threads, "1")
    own = compile_chain(monkeypatch, expand_graph(case, seed), isa, threads, "0")
    one = compile_chain(monkeypatch, expand_graph(case, seed), isa, 1, "1")
    for rep in range(3):  # the claims and the wait, more than once
        x = expand_feeds(case, 1, seed + rep)
        got, shared_jobs = run_jobs(shared, x)
        want, own_jobs = run_jobs(own, x)
        assert_same_bits(got, want, one.run(x)[0])
        assert len(own_jobs) == 1 and len(shared_jobs) == 1, (own_jobs, shared_jobs)
        op_threads = own_jobs[0]["parts"]
        assert own_jobs[0]["tasks"] == min(op_threads, oh)
        assert shared_jobs[0]["tasks"] == min(op_threads, oh * ow)


@pytest.mark.parametrize("isa", PRECISION_ISAS, ids=str)
def test_batches_and_stems_keep_own_rows(
    monkeypatch: pytest.MonkeyPatch, isa: tuple[str, str]
) -> None:
    """Batch 2 (an expand chain) runs own rows' one job of 2 x chunks tasks
    with the switch on; a stem chain at batch 1 too (fp32, bf16)."""
    case = CASES[1]  # 13x11 -> 13 rows: 2 chunks on 2 threads
    model = compile_chain(monkeypatch, expand_graph(case, 5), isa, 2, "1")
    _, jobs = run_jobs(model, expand_feeds(case, 2, 6))
    assert [j["tasks"] for j in jobs] == [2 * jobs[0]["parts"]], jobs
    if isa[0] == "int8":
        return  # stems are not fused in int8
    stem = compile_chain(
        monkeypatch, stem_chain_graph(STEM_CASE, stem_weights(STEM_CASE, 7)), isa, 2, "1"
    )
    _, jobs = run_jobs(stem, stem_feeds(STEM_CASE, 1, seed=1))
    oh = out_dim(out_dim(STEM_CASE[0], STEM_CASE[4]), STEM_CASE[8])
    assert [j["tasks"] for j in jobs] == [min(jobs[0]["parts"], oh)], jobs
