"""bf16 and int8 models run a call of many samples through the graph a slice
of samples at a time (compile/model.cpp, TFJS_INFER_LOWP_SLICE_BYTES; the
default size from the L3, kernels/cpu_params.cpp): the outputs are bitwise
those of the whole call, for models with several inputs and outputs, at 1 and
2 threads, with a last slice shorter than the others, and per-op profiles add
up over the slices. At 2 threads the slices run in parallel, each thread's
with half the budget (tests/precision/test_parallel_slices.py); fp32 models
keep whole calls. On every ISA that has the precision's kernels."""

from __future__ import annotations

import numpy as np
import pytest

import tfjs_infer as ti
from fixture_utils import FIXTURES, arrays, model_path, read_io, read_spec
from tfjs_infer import _core

ENV = "TFJS_INFER_LOWP_SLICE_BYTES"
PRECISIONS = ["bf16", "int8"]
CASES = [(p, isa) for p in PRECISIONS for isa in _core._testing.lowp_isas(p)]


def two_io_graph(rng: np.random.Generator) -> _core.Graph:
    """An image input through a bf16/int8 3x3 conv and a 1x1 conv with a fused
    residual, and a row input through a dense layer: two outputs."""
    g = _core.Graph()
    img = g.add_input("img", [None, 9, 7, 5], "float32")
    row = g.add_input("row", [None, 11], "float32")
    w3 = rng.standard_normal((3, 3, 5, 6)).astype(np.float32)
    w1 = rng.standard_normal((1, 1, 6, 6)).astype(np.float32)
    wd = rng.standard_normal((11, 4)).astype(np.float32)
    attrs = {"strides": [1, 1], "padding": "same", "activation": "relu"}
    (a,) = g.add_op("conv2d", "c3", [img], attrs, {"kernel": w3, "bias": np.ones(6, np.float32)})
    (b,) = g.add_op("conv2d", "c1", [a], attrs, {"kernel": w1, "bias": np.zeros(6, np.float32)})
    (y,) = g.add_op("add", "res", [a, b], {}, {})
    dense_weights = {"kernel": wd, "bias": np.zeros(4, np.float32)}
    (d,) = g.add_op("dense", "d", [row], {"activation": "linear"}, dense_weights)
    g.set_outputs([y, d])
    return g


def compiled(
    monkeypatch: pytest.MonkeyPatch,
    slice_bytes: int | None,
    threads: int,
    precision: str,
    isa: str,
):
    if slice_bytes is None:
        monkeypatch.delenv(ENV, raising=False)
    else:
        monkeypatch.setenv(ENV, str(slice_bytes))
    g = two_io_graph(np.random.default_rng(3))
    return _core.CompiledModel(g, isa=isa, num_threads=threads, precision=precision)


def inputs(rows: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    img = rng.standard_normal((rows, 9, 7, 5)).astype(np.float32)
    row = rng.standard_normal((rows, 11)).astype(np.float32)
    return [img, row]


@pytest.mark.parametrize(("precision", "isa"), CASES)
@pytest.mark.parametrize("threads", [1, 2])
def test_sliced_calls_give_the_whole_calls_bits(
    monkeypatch: pytest.MonkeyPatch, threads: int, precision: str, isa: str
) -> None:
    img, row = inputs(13)
    whole = compiled(monkeypatch, 0, threads, precision, isa)
    assert whole.precision == precision
    ref = whole.run([img, row])
    plans = whole.num_plans  # the load's probe (1 row) and 13 rows
    per_row = whole.workspace_bytes([list(img.shape), list(row.shape)]) // 13
    # One sample per slice; then 3 (slices of 3, 3, 3, 3 and 1 rows at 1
    # thread; at 2, in parallel, 3 and 3 a thread and the last row).
    for slice_bytes, new_plans in ((1, 0), (threads * (3 * per_row + 64), 1)):
        model = compiled(monkeypatch, slice_bytes, threads, precision, isa)
        got = model.run([img, row])
        for r, o in zip(ref, got):
            np.testing.assert_array_equal(o.view(np.uint32), r.view(np.uint32))
        # The 3-row slices ran as calls of their own shape.
        assert model.num_plans == plans + new_plans


@pytest.mark.parametrize("precision", ["fp32", *PRECISIONS])
def test_default_slices_follow_the_cpu_and_fp32_keeps_whole_calls(
    monkeypatch: pytest.MonkeyPatch, precision: str
) -> None:
    """Without the variable a call is sliced to build_info()'s
    lowp_slice_bytes in bf16, int8_slice_bytes in int8 (one plan more than the whole call), and
    never in fp32 (the whole call's plan only)."""
    # fp32: the ISA selected at import; else the last with the precision's kernels
    isa = (
        ti.build_info()["isa_selected"]
        if precision == "fp32"
        else _core._testing.lowp_isas(precision)[-1]
    )
    # int8 models have their own budget (a quarter of the L3 on Zen 4)
    key = "int8_slice_bytes" if precision == "int8" else "lowp_slice_bytes"
    slice_bytes = ti.build_info()["cpu"][key]
    probe = compiled(monkeypatch, 0, 1, precision, isa)
    # The arena's growth per row (without the scratch every call has).
    per_row = probe.workspace_bytes([list(a.shape) for a in inputs(2)]) - probe.workspace_bytes(
        [list(a.shape) for a in inputs(1)]
    )
    rows = 2 * slice_bytes // per_row + 1  # about 2 slices of `slice_bytes`
    model = compiled(monkeypatch, None, 1, precision, isa)
    plans = model.num_plans
    got = model.run(inputs(rows))
    for r, o in zip(probe.run(inputs(rows)), got):
        np.testing.assert_array_equal(o.view(np.uint32), r.view(np.uint32))
    # Whole call: one new plan (rows); sliced: the slice's plan and the last,
    # shorter slice's (or just the slice's when it divides `rows`).
    new_plans = model.num_plans - plans
    assert new_plans == 1 if precision == "fp32" else new_plans in (2, 3), new_plans


@pytest.mark.parametrize(("precision", "isa"), CASES)
def test_resnet_block_fixture_sliced_and_profiled(
    monkeypatch: pytest.MonkeyPatch, precision: str, isa: str
) -> None:
    case = "keras_conv/resnet_block"
    x = arrays(read_io(FIXTURES / case)["inputs"])[0]
    x = np.concatenate([x] * (9 // len(x) + 1))[:9]
    spec = read_spec(model_path(FIXTURES / case))
    monkeypatch.setenv(ENV, "0")
    whole = ti.Model(spec, precision=precision, isa=isa, num_threads=1)
    monkeypatch.setenv(ENV, "1")
    sliced = ti.Model(spec, precision=precision, isa=isa, num_threads=1)
    np.testing.assert_array_equal(sliced.predict(x, batch_size=9), whole.predict(x, batch_size=9))
    rows = sliced.profile(x, rounds=1)
    assert [r["name"] for r in rows] == [r["name"] for r in whole.profile(x, rounds=1)]
    assert all(r["us"] >= 0 for r in rows) and sum(r["us"] for r in rows) > 0
