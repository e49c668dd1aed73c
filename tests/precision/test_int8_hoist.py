"""int8 models run each projection shortcut right after its input's producer
(compile/int8_order_pass.cpp: ResNet's conv_0 before the main branch's
conv_1), so the first-fit plan puts its output in a block just freed. Only
the order of two independent ops changes: on every ISA with an int8 kernel,
at 1 and 2 threads, strides 1 and 2, the outputs are bit for bit those in
Keras's order (TFJS_INFER_INT8_HOIST=0), a sample's rows are the same at
batch 1 and batch 3, a NaN in one sample stays in that sample, and the
profile shows the new order (the pass ran). Models in other precisions keep
their order."""

from __future__ import annotations

import numpy as np
import pytest

from graph_utils import add_conv
from tfjs_infer import _core

ENV = "TFJS_INFER_INT8_HOIST"
ISAS = list(_core._testing.lowp_isas("int8"))


def block_graph(rng: np.random.Generator, cin: int, f: int, stride: int) -> _core.Graph:
    """stem(x) = h; c1(h), c2(.), then c3(.) + c0(h), in Keras's order."""

    def weights(k: int, ci: int, co: int) -> tuple[np.ndarray, np.ndarray]:
        w = rng.standard_normal((k, k, ci, co)).astype(np.float32) / np.float32(k * np.sqrt(ci))
        return w, rng.standard_normal(co).astype(np.float32)

    g = _core.Graph()
    x = g.add_input("x", [None, 9, 11, 3], "float32")
    h = add_conv(g, "stem", x, *weights(3, 3, cin))
    a = add_conv(g, "c1", h, *weights(1, cin, f), stride=stride)
    a = add_conv(g, "c2", a, *weights(3, f, f))
    s = add_conv(g, "c0", h, *weights(1, cin, 4 * f), stride=stride, act="linear")
    y = add_conv(g, "c3", a, *weights(1, f, 4 * f), residual=s)
    g.set_outputs([y])
    return g


def run(
    monkeypatch: pytest.MonkeyPatch,
    g: _core.Graph,
    isa: str,
    threads: int,
    x: np.ndarray,
    hoist: bool,
    precision: str = "int8",
) -> tuple[np.ndarray, list[str]]:
    monkeypatch.setenv(ENV, "1" if hoist else "0")
    model = _core.CompiledModel(g, isa=isa, num_threads=threads, optimize=True, precision=precision)
    assert set(model.op_precisions()) == {precision}
    (out,) = model.run([x])
    order = [op[0] for op in model.ops()]
    return out, order


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("stride", [1, 2])
def test_hoisted_projection_keeps_the_bits(
    monkeypatch: pytest.MonkeyPatch, isa: str, threads: int, stride: int
) -> None:
    rng = np.random.default_rng(threads * 10 + stride)
    g = block_graph(rng, cin=5, f=7, stride=stride)
    x = rng.standard_normal((3, 9, 11, 3)).astype(np.float32)
    x[2, 4, 5, 1] = np.nan
    out, order = run(monkeypatch, g, isa, threads, x, hoist=True)
    keras, keras_order = run(monkeypatch, g, isa, threads, x, hoist=False)
    assert order == ["stem", "c0", "c1", "c2", "c3"]
    assert keras_order == ["stem", "c1", "c2", "c0", "c3"]
    np.testing.assert_array_equal(out.view(np.uint32), keras.view(np.uint32))
    assert np.isfinite(out[:2]).all() and (out[:2] > 0).any()
    assert np.isnan(out[2]).all()
    one, _ = run(monkeypatch, g, isa, threads, x[1:2], hoist=True)
    np.testing.assert_array_equal(one.view(np.uint32), out[1:2].view(np.uint32))


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_other_precisions_keep_the_order(monkeypatch: pytest.MonkeyPatch, precision: str) -> None:
    isas = ["avx512"] if precision == "bf16" else ["generic"]
    if precision == "bf16" and "avx512" not in _core._testing.lowp_isas("bf16"):
        pytest.skip("no bf16 kernels on this CPU")
    g = block_graph(np.random.default_rng(1), cin=5, f=7, stride=2)
    x = np.ones((1, 9, 11, 3), np.float32)
    _, order = run(monkeypatch, g, isas[0], 1, x, hoist=True, precision=precision)
    assert order == ["stem", "c1", "c2", "c0", "c3"]
