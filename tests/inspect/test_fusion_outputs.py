"""A requested intermediate tensor blocks exactly the fusion that would
swallow it (cpp/compile/passes.cpp), one fusion kind at a time; the rest of
the graph keeps its fusions, and the full model is unchanged."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from intermediate_cases import assert_close, case_names, model, reference, x

import tfjs_infer

MOBILENET = "mobilenet_v2_tfjs"


def op_types(m: tfjs_infer.Model) -> Counter:
    return Counter(op_type for _, op_type, _, _ in m._core.ops())


def final(m: tfjs_infer.Model) -> str:
    return m.outputs[0].name


# layer -> (op counts that change against the full model's)
BLOCKED = {
    # conv -> BatchNorm: the fold is undone (a batch_norm op runs, and the
    # ReLU6 after it, which only conv/dense epilogues take, runs alone; the
    # conv, whose output goes elsewhere too, is not block 0's chain's stem).
    "Conv1": {"batch_norm": +1, "activation": +1, "conv2d": +1},
    # BatchNorm (folded) -> ReLU6: the activation runs on its own (and the
    # conv is not the chain's stem).
    "bn_Conv1": {"activation": +1, "conv2d": +1},
    # the stem conv's output (its ReLU6 fused): only the stem stays apart.
    "Conv1_relu": {"conv2d": +1},
    # pad -> conv: the pad runs on its own (and block 3's expand conv, which
    # no longer feeds the depthwise directly, is not chained with it).
    "block_3_pad": {"pad": +1, "conv2d": +1},
    # expand conv inside an inverted-residual block: the block's chain
    # keeps depthwise + project, the expand conv runs alone.
    "block_3_expand_relu": {"conv2d": +1},
    # depthwise output inside a block: that block's chain is not made.
    "block_3_depthwise_relu": {"conv_chain": -1, "depthwise_conv2d": +1, "conv2d": +2},
    # a residual Add's operand: the add runs on its own (the chain stays).
    "block_2_project_BN": {"add": +1},
}


@pytest.mark.parametrize("layer", list(BLOCKED))
def test_each_fusion_kind_is_blocked_alone(layer: str) -> None:
    full = model(MOBILENET)
    sub = full.submodel([layer, final(full)])
    want = op_types(full)
    for op_type, change in BLOCKED[layer].items():
        want[op_type] += change
    assert +op_types(sub) == +want
    ref = reference(MOBILENET)
    got = sub.predict(x(MOBILENET))
    assert_close(got[layer], ref[layer], layer)
    assert_close(got[final(full)], ref[final(full)], "embedding")


def test_fused_outputs_cost_no_unfusing() -> None:
    """Outputs a fused op already produces (a residual Add fused into a
    conv_chain) need nothing undone."""
    full = model(MOBILENET)
    for layer in ("block_2_add", "block_5_add"):
        sub = full.submodel([layer, final(full)])
        assert op_types(sub) == op_types(full), layer


def test_conv_pool_fusion_is_blocked() -> None:
    name = "nested_tm_tfjs"
    full = model(name)
    layer = "sequential_1/feature_model/conv1_relu"
    assert op_types(full)["pool"] == 0  # the max pool is fused into conv1
    sub = full.submodel([layer, final(full)])
    assert op_types(sub)["pool"] == 1
    got = sub.predict(x(name))
    assert_close(got[layer], reference(name)[layer], layer)


def test_submodel_computes_only_what_it_needs() -> None:
    full = model(MOBILENET)
    stem = full.submodel("bn_Conv1")
    assert [op for _, op, _, _ in stem._core.ops()] == ["conv2d"]  # BatchNorm folded in
    cut = full.submodel("block_5_add")
    assert len(cut._core.ops()) < len(full._core.ops()) / 2
    assert_close(cut.predict(x(MOBILENET)), reference(MOBILENET)["block_5_add"], "cut")


def test_full_model_unchanged_when_a_submodel_exists() -> None:
    path = model(MOBILENET).source
    full = tfjs_infer.load_model(path)
    ops_before = full._core.ops()
    out_before = full.predict(x(MOBILENET))
    subs = [full.submodel(["block_3_depthwise_relu", final(full)]), full.submodel("Conv1")]
    full.predict(x(MOBILENET), outputs=["bn_Conv1", "block_2_project_BN"])
    for s in subs:
        s.predict(x(MOBILENET))
    assert full._core.ops() == ops_before
    assert full._core.ops() == tfjs_infer.load_model(path)._core.ops()
    np.testing.assert_array_equal(full.predict(x(MOBILENET)), out_before)
    assert_close(out_before, reference(MOBILENET)[final(full)], "full output")


@pytest.mark.parametrize("name", case_names())
def test_dead_op_removal_leaves_full_models_whole(name: str) -> None:
    """Compiling drops ops no output needs; a full model has none to drop."""
    from tfjs_infer import _core
    from tfjs_infer.frontend import lower_model
    from tfjs_infer.io import read_model

    lowered = lower_model(read_model(model(name).source))
    n = lowered.graph.num_ops
    plain = _core.CompiledModel(lowered.graph, isa="", num_threads=1, optimize=False, consume=False)
    assert len(plain.ops()) == n


def test_graph_inputs_must_be_input_values() -> None:
    from tfjs_infer import _core
    from tfjs_infer.errors import InvalidModelError

    g = _core.Graph()
    a = g.add_input("a", [None, 3])
    (y,) = g.add_op("activation", "relu", [a], {"activation": "relu"})
    with pytest.raises(InvalidModelError, match="not an input value"):
        g.set_inputs([y])
    with pytest.raises(InvalidModelError, match="unknown value"):
        g.cut_at(99, "x", [None, 3])
    g.set_outputs([y])
    cut = g.cut_at(y, "y", [None, 3])
    g.set_inputs([cut])
    m = _core.CompiledModel(g, isa="", num_threads=1, optimize=True, consume=True)
    assert m.ops() == []  # the relu is dead: the output is the new input
