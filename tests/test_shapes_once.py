"""Shapes once: every output shape of the graph comes from the core's shape
rules (each op's infer()), asked as the frontend adds the op; the lowerings
compute none and pass none."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import numpy as np
import pytest

from tfjs_infer import InvalidModelError, _core
from tfjs_infer.frontend.registry import GraphBuilder, LayerCall

FRONTEND = Path(__file__).resolve().parents[1] / "python" / "tfjs_infer" / "frontend"


def _op_calls_with_shapes(source: str) -> list[int]:
    """Lines of calls to .op()/.op_outputs() that pass an output shape or dtype."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("op", "op_outputs")
            and any(k.arg in ("shape", "shapes", "dtype") for k in node.keywords)
        ):
            lines.append(node.lineno)
    return lines


def test_no_lowering_passes_an_output_shape() -> None:
    found = {
        path.name: lines
        for path in sorted(FRONTEND.glob("*.py"))
        if (lines := _op_calls_with_shapes(path.read_text()))
    }
    assert found == {}, f"lowerings passing output shapes to GraphBuilder.op: {found}"


def test_the_scan_sees_a_shape_passed() -> None:
    assert _op_calls_with_shapes("b.op('dense', layer, [x], shape=(None, 4))") == [1]
    assert _op_calls_with_shapes("b.op_outputs('rnn', layer, [x], shapes=[s, s])") == [1]


def test_graph_builder_takes_no_output_shape() -> None:
    for method in (GraphBuilder.op, GraphBuilder.op_outputs):
        params = set(inspect.signature(method).parameters)
        assert not params & {"shape", "shapes", "dtype"}, method.__name__


def _types(g: _core.Graph, ids: list[int]) -> list[tuple]:
    return [s for s, _ in g.value_types(ids)]


def test_unknown_sizes_propagate_through_the_ops() -> None:
    g = _core.Graph()
    seq = g.add_input("seq", [None, None, 6], "float32")  # free batch and time axes
    (d,) = g.add_op("dense", "d", [seq], {}, {"kernel": np.ones((6, 4), np.float32)})
    assert _types(g, [d]) == [(None, None, 4)]
    (c,) = g.add_op("concat", "c", [d, seq], {"axis": -1})
    assert _types(g, [c]) == [(None, None, 10)]
    (t,) = g.add_op("concat", "t", [d, d], {"axis": 1})  # unknown + unknown steps
    assert _types(g, [t]) == [(None, None, 4)]
    (r,) = g.add_op("reshape", "r", [d], {"shape": [-1]})  # None * 4 per row: unknown
    assert _types(g, [r]) == [(None, None)]
    img = g.add_input("img", [None, None, 9, 3], "float32")
    kernel = np.ones((3, 3, 3, 5), np.float32)
    attrs = {"strides": [2, 2], "padding": "valid"}
    (y,) = g.add_op("conv2d", "conv", [img], attrs, {"kernel": kernel})
    assert _types(g, [y]) == [(None, None, 4, 5)]
    (p,) = g.add_op("pool", "pool", [y], {"mode": "max", "pool_size": [2, 2]})
    assert _types(g, [p]) == [(None, None, 2, 5)]
    (s,) = g.add_op("add", "s", [p, g.add_input("bias", [1, 1, 1, 5], "float32")])
    assert _types(g, [s]) == [(None, None, 2, 5)]


def test_known_sizes_win_over_unknown_ones() -> None:
    g = _core.Graph()
    a = g.add_input("a", [None, None, 3], "float32")
    b = g.add_input("b", [None, 7, 3], "float32")
    (s,) = g.add_op("add", "s", [a, b])
    (c,) = g.add_op("concat", "c", [a, b], {"axis": -1})
    assert _types(g, [s, c]) == [(None, 7, 3), (None, 7, 6)]


def test_the_op_decides_its_output_count() -> None:
    g = _core.Graph()
    x = g.add_input("x", [None, 5, 3], "float32")
    w = {
        "kernel": np.ones((3, 8), np.float32),
        "recurrent_kernel": np.ones((2, 8), np.float32),
    }
    attrs = {"cell": "lstm", "units": 2, "return_state": 1, "return_sequences": 1}
    outs = g.add_op("rnn", "lstm", [x], attrs, w)
    assert _types(g, outs) == [(None, 5, 2), (None, 2), (None, 2)]


def test_a_shape_error_while_building_names_the_layer() -> None:
    b = GraphBuilder()
    x = b.input("x", (None, 5))
    layer = LayerCall(class_name="Dense", name="head", config={}, inputs=[x])
    kernel = np.ones((4, 3), np.float32)
    with pytest.raises(InvalidModelError) as err:
        b.op("dense", layer, [x], weights={"kernel": kernel})
    assert str(err.value) == (
        "layer 'head' (Dense): expected an input whose last axis is 4, received (None, 5)"
    )
    # The graph is left as it was: the refused op added no node.
    assert b.graph.num_ops == 0


def test_a_raw_graph_refuses_inputs_that_do_not_fit_at_add_time() -> None:
    g = _core.Graph()
    x = g.add_input("x", [None, 4, 4, 3], "float32")
    kernel = np.ones((5, 5, 3, 2), np.float32)
    with pytest.raises(InvalidModelError, match=r"layer 'c' \(conv2d\): input \(None, 4, 4, 3\)"):
        g.add_op("conv2d", "c", [x], {"padding": "valid"}, {"kernel": kernel})
