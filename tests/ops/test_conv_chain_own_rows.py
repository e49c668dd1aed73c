"""The conv_chain op's own-rows mode (TFJS_INFER_CHAIN_OWN_ROWS, on by
default, read when the model is compiled; =0 the whole-image mode): where the
whole-image mode would run (a few images on several threads, the expanded
image small enough), each thread instead takes one chunk of output rows per
image in an owned run and expands the rows that chunk needs itself
(recomputing the halo rows at the chunk's edges). Every output keeps the bits
of the whole-image mode (=0) and of one thread (which test_conv_numpy.py and
test_conv_chain_stem.py hold to the unfused ops): expand and stem chains, odd
sizes, stride 1 and 2, 3x3 and 5x5, with and without a residual, channel
counts off the vector width, fp32, bf16 and int8 (stems are not fused in
int8) on every kernel table that has them, 2, 3 and 4 threads (capped at
this host's cores), batches 1-3. The pool trace shows which mode ran: one job
of (images x chunks) tasks per call, against two jobs per image."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from test_conv_chain_stem import chain_graph as stem_chain_graph
from test_conv_chain_stem import feeds as stem_feeds
from test_conv_chain_stem import weights as stem_weights

import tfjs_infer
from tfjs_infer import _core

ENV = "TFJS_INFER_CHAIN_OWN_ROWS"
# Every precision the chain runs in, on every kernel table that has it.
PRECISION_ISAS = (
    [("fp32", isa) for isa in tfjs_infer.available_isas()]
    + [("bf16", isa) for isa in _core._testing.lowp_isas("bf16")]
    + [("int8", isa) for isa in _core._testing.lowp_isas("int8")]
)

# (h, w, cin, e, cout, k, stride, residual): a MobileNetV2 14x14 block; odd
# sizes at stride 1 and 2; a 28x28 stride-2 block; a 5x5 depthwise; a
# three-row output (fewer rows than 4 threads); channels off the vector width.
CASES = [
    (14, 14, 32, 192, 32, 3, 1, True),
    (13, 11, 8, 40, 8, 3, 1, False),
    (15, 17, 8, 48, 12, 3, 2, False),
    (28, 28, 16, 96, 24, 3, 2, False),
    (9, 10, 16, 96, 16, 5, 1, True),
    (3, 15, 24, 160, 24, 3, 1, True),
    (12, 7, 20, 75, 19, 3, 1, True),
]

# A stem chain (conv2d 3x3 stride 2 -> depthwise -> project + residual) whose
# 14x14 stem output fits the whole-image mode (test_conv_chain_stem.CASES[5]).
STEM_CASE = (27, 28, 3, 3, 2, "same", "relu6", 32, 1, 16, True)


def rand(rng: np.random.Generator, shape: tuple[int, ...], scale: float = 1.0) -> np.ndarray:
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def out_dim(n: int, s: int) -> int:
    return -(-n // s)  # 'same'


def expand_graph(case: tuple, seed: int) -> _core.Graph:
    """expand 1x1 (relu6) -> depthwise KxK 'same' (relu6) -> project 1x1 (+ r)."""
    h, w, cin, e, cout, k, s, residual = case
    rng = np.random.default_rng(seed)
    g = _core.Graph()
    v = g.add_input("x", [None, h, w, cin], "float32")
    wk = {"kernel": rand(rng, (1, 1, cin, e), 0.5), "bias": rand(rng, (e,), 0.2)}
    (v,) = g.add_op("conv2d", "expand", [v], {"activation": "relu6"}, wk)
    dattrs = {"strides": [s, s], "padding": "same", "activation": "relu6"}
    dw = {"kernel": rand(rng, (k, k, e), 0.5), "bias": rand(rng, (e,), 0.2)}
    (v,) = g.add_op("depthwise_conv2d", "dw", [v], dattrs, dw)
    pw = {"kernel": rand(rng, (1, 1, e, cout), 0.3), "bias": rand(rng, (cout,), 0.2)}
    (y,) = g.add_op("conv2d", "project", [v], {}, pw)
    if residual:
        r = g.add_input("r", [None, out_dim(h, s), out_dim(w, s), cout], "float32")
        (y,) = g.add_op("add", "add", [y, r], {}, {})
    g.set_outputs([y])
    return g


def expand_feeds(case: tuple, batch: int, seed: int) -> list[np.ndarray]:
    h, w, cin, _, cout, _, s, residual = case
    rng = np.random.default_rng(seed)
    x = [rand(rng, (batch, h, w, cin))]
    if residual:
        x.append(rand(rng, (batch, out_dim(h, s), out_dim(w, s), cout)))
    return x


def assert_same_bits(got: np.ndarray, *others: np.ndarray) -> None:
    """got equals each of `others` bit for bit, and is finite and not all ~0
    (a chain that wrote nothing must not pass)."""
    for want in others:
        np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))
    assert np.isfinite(got).all() and np.abs(got).max() > 0.05


def compile_chain_env(
    monkeypatch: pytest.MonkeyPatch,
    g: _core.Graph,
    isa: tuple[str, str],
    threads: int,
    env: dict[str, str],
) -> _core.CompiledModel:
    """g compiled to one conv_chain op with the switches `env` set; isa:
    (precision, kernel table)."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    model = _core.CompiledModel(g, isa=isa[1], num_threads=threads, precision=isa[0])
    assert [o[1] for o in model.ops()] == ["conv_chain"]
    return model


def compile_chain(
    monkeypatch: pytest.MonkeyPatch,
    g: _core.Graph,
    isa: tuple[str, str],
    threads: int,
    own: str,
) -> _core.CompiledModel:
    """Own rows (own "1") or the whole-image mode ("0"), not the batch-1
    shared-expand mode (test_conv_chain_shared_expand.py)."""
    env = {ENV: own, "TFJS_INFER_CHAIN_SHARED_EXPAND": "0"}
    return compile_chain_env(monkeypatch, g, isa, threads, env)


def run_jobs(model: _core.CompiledModel, x: list[np.ndarray]) -> tuple[np.ndarray, list[dict]]:
    """The output and the pool jobs the call ran on several threads."""
    _core._testing.pool_trace_take()
    _core._testing.pool_trace(True)
    try:
        y = model.run(x)[0]
    finally:
        _core._testing.pool_trace(False)
    return y, [j for j in _core._testing.pool_trace_take() if j["parts"] > 1]


def check_same_bits(
    monkeypatch: pytest.MonkeyPatch,
    make: Callable[[], _core.Graph],
    x_for: Callable[[int], list[np.ndarray]],
    oh: int,
    isa: tuple[str, str],
    threads: int,
) -> None:
    """Own rows (=1) against the whole-image mode (=0) and one thread at
    batches 1-3, bit for bit. The whole-image calls ran two jobs per image on
    the op's threads (so the mode applied); the own-rows calls one job of
    images x min(those threads, output rows) tasks."""
    own = compile_chain(monkeypatch, make(), isa, threads, "1")
    whole = compile_chain(monkeypatch, make(), isa, threads, "0")
    one = compile_chain(monkeypatch, make(), isa, 1, "0")
    for batch in (1, 2, 3):
        x = x_for(batch)
        got, own_jobs = run_jobs(own, x)
        want, whole_jobs = run_jobs(whole, x)
        assert_same_bits(got, want, one.run(x)[0])
        assert len(whole_jobs) == 2 * batch, whole_jobs
        op_threads = whole_jobs[0]["parts"]
        assert [j["tasks"] for j in own_jobs] == [batch * min(op_threads, oh)], own_jobs


@pytest.mark.parametrize("isa", PRECISION_ISAS, ids=str)
@pytest.mark.parametrize("threads", [2, 3, 4])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_own_rows_keep_the_whole_image_bits(
    monkeypatch: pytest.MonkeyPatch, case: tuple, isa: tuple[str, str], threads: int
) -> None:
    seed = case[0] * 31 + case[3]
    check_same_bits(
        monkeypatch,
        lambda: expand_graph(case, seed),
        lambda batch: expand_feeds(case, batch, seed + batch),
        out_dim(case[0], case[6]),
        isa,
        threads,
    )


@pytest.mark.parametrize("isa", [p for p in PRECISION_ISAS if p[0] != "int8"], ids=str)
@pytest.mark.parametrize("threads", [2, 4])
def test_own_rows_with_a_stem(
    monkeypatch: pytest.MonkeyPatch, isa: tuple[str, str], threads: int
) -> None:
    check_same_bits(
        monkeypatch,
        lambda: stem_chain_graph(STEM_CASE, stem_weights(STEM_CASE, 7)),
        lambda batch: stem_feeds(STEM_CASE, batch, seed=batch),
        out_dim(out_dim(STEM_CASE[0], STEM_CASE[4]), STEM_CASE[8]),
        isa,
        threads,
    )
