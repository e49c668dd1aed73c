"""The conv_chain op's thread slots 1 MiB apart (TFJS_INFER_CHAIN_SLOT_ALIGN,
on by default, read when the model is compiled; =0 each slot right after the
one before): the same scratch per thread in every chain op. Every output
keeps the bits of =0 and of one thread in each mode that uses the slots: the
banded chunks (batch 7 and more rows), own rows (batches 1-3 of small
images), shared expand (batch 1), two-ended (one large image), a stem chain;
fp32, bf16 and int8 on every kernel table, 2, 3 and 4 threads (capped at this
host's cores). The workspace grows to hold the aligned slots."""

from __future__ import annotations

import pytest
from test_conv_chain_own_rows import (
    PRECISION_ISAS,
    assert_same_bits,
    expand_feeds,
    expand_graph,
)
from test_conv_chain_stem import chain_graph as stem_chain_graph
from test_conv_chain_stem import feeds as stem_feeds
from test_conv_chain_stem import weights as stem_weights

from tfjs_infer import _core

ENV = "TFJS_INFER_CHAIN_SLOT_ALIGN"
# (case, batches): own rows / shared expand (14x14), banded chunks and
# two-ended (57x45, expanded image above 1.5 MiB), stride 2 with a 5x5.
CASES = [
    ((14, 14, 32, 192, 32, 3, 1, True), (1, 2, 7)),
    ((57, 45, 8, 160, 12, 3, 1, True), (1, 3)),
    ((44, 50, 8, 192, 8, 5, 2, False), (1, 8)),
]
STEM_CASE = (127, 129, 3, 3, 2, "same", "relu6", 64, 1, 24, True)


def compile_chain(
    monkeypatch: pytest.MonkeyPatch,
    g: _core.Graph,
    isa: tuple[str, str],
    threads: int,
    align: str,
) -> _core.CompiledModel:
    monkeypatch.setenv(ENV, align)
    model = _core.CompiledModel(g, isa=isa[1], num_threads=threads, precision=isa[0])
    assert "conv_chain" in [o[1] for o in model.ops()]
    return model


@pytest.mark.parametrize("isa", PRECISION_ISAS, ids=str)
@pytest.mark.parametrize("threads", [2, 3, 4])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_aligned_slots_keep_the_bits(
    monkeypatch: pytest.MonkeyPatch, case: tuple, isa: tuple[str, str], threads: int
) -> None:
    shape, batches = case
    seed = shape[0] * 31 + shape[3]
    aligned = compile_chain(monkeypatch, expand_graph(shape, seed), isa, threads, "1")
    packed = compile_chain(monkeypatch, expand_graph(shape, seed), isa, threads, "0")
    one = compile_chain(monkeypatch, expand_graph(shape, seed), isa, 1, "1")
    for batch in batches:
        x = expand_feeds(shape, batch, seed + batch)
        assert_same_bits(aligned.run(x)[0], packed.run(x)[0], one.run(x)[0])


@pytest.mark.parametrize("isa", [p for p in PRECISION_ISAS if p[0] != "int8"], ids=str)
def test_aligned_slots_with_a_stem(monkeypatch: pytest.MonkeyPatch, isa: tuple[str, str]) -> None:
    make = lambda: stem_chain_graph(STEM_CASE, stem_weights(STEM_CASE, 7))  # noqa: E731
    aligned = compile_chain(monkeypatch, make(), isa, 2, "1")
    packed = compile_chain(monkeypatch, make(), isa, 2, "0")
    one = compile_chain(monkeypatch, make(), isa, 1, "1")
    for batch in (1, 2):
        x = stem_feeds(STEM_CASE, batch, seed=batch)
        assert_same_bits(aligned.run(x)[0], packed.run(x)[0], one.run(x)[0])


def test_aligned_slots_grow_the_scratch(monkeypatch: pytest.MonkeyPatch) -> None:
    """The workspace holds every thread's 1 MiB-aligned slot (a slot past the
    scratch would write over other values): more than the packed slots of a
    band of about 512 KiB."""
    shape = CASES[1][0]
    sizes = {}
    for align in ("0", "1"):
        g = expand_graph(shape, 3)
        model = compile_chain(monkeypatch, g, ("fp32", "generic"), 2, align)
        sizes[align] = model.workspace_bytes(
            [[1, shape[0], shape[1], shape[2]], [1, shape[0], shape[1], shape[4]]]
        )
    assert sizes["1"] > sizes["0"], sizes
