"""CUDA ops (cpp/cuda/ops/) of the families that used to fall back to the CPU,
each run as a one-op graph compiled for device="cuda" (every op placed on the
device, asserted) against the same graph on the CPU engine's generic kernels,
at small and odd shapes: data movement (transpose, concat, pad/crop, upsample,
repeat_vector, identity), embedding (its bad-id error too), attention with
masks, depthwise convolution with a depth multiplier, and recurrent layers
with masks, initial states and GRU reset_after=False.

Tolerance: bit for bit under emulation (the device code does the CPU generic
kernels' arithmetic in their order), except where a test says otherwise;
RTOL on a real GPU (cuda_kernels.py)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from cuda_kernels import needs_kernels, rand, run_op, same, with_specials

import tfjs_infer
from tfjs_infer import _core

pytestmark = needs_kernels


def device_op(
    op_type: str,
    inputs: list[np.ndarray],
    attrs: dict[str, Any] | None = None,
    weights: dict[str, np.ndarray] | None = None,
    num_outputs: int = 1,
) -> list[np.ndarray]:
    """The one-op graph of run_op on the CUDA device; its op must be placed there."""
    g = _core.Graph()
    ids = []
    for i, x in enumerate(inputs):
        dtype = "int32" if x.dtype == np.int32 else "float32"
        ids.append(g.add_input(f"x{i}", [None, *x.shape[1:]], dtype))
    g.set_outputs(g.add_op(op_type, "op", ids, attrs or {}, weights or {}, num_outputs))
    model = _core.CompiledModel(g, isa="generic", optimize=False, device="cuda")
    assert list(model.placement) == ["cuda"], (op_type, list(model.placement))
    return model.run([np.ascontiguousarray(x) for x in inputs])


def check(
    op_type: str,
    inputs: list[np.ndarray],
    attrs: dict[str, Any] | None = None,
    weights: dict[str, np.ndarray] | None = None,
    num_outputs: int = 1,
    exact: bool = True,
) -> None:
    got = device_op(op_type, inputs, attrs, weights, num_outputs)
    want = run_op(op_type, inputs, attrs, weights, "generic", num_outputs)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype
        same(g, w, exact=exact)


# ---- data movement -----------------------------------------------------------


@pytest.mark.parametrize("perm", [[0, 2, 1], [0, 3, 1, 2], [2, 0, 3, 1]])
def test_transpose(perm: list) -> None:
    rng = np.random.default_rng(len(perm))
    x = with_specials(rand(rng, *[3, 5, 7, 2][: len(perm)]))
    check("transpose", [x], {"perm": perm})


@pytest.mark.parametrize("axis", [1, 2, -1])
def test_concat_float_and_int(axis: int) -> None:
    rng = np.random.default_rng(axis + 5)
    xs = [rand(rng, 3, 4, 5), rand(rng, 3, 4, 5), rand(rng, 3, 4, 5)]
    widths = [1, 3, 2]
    ax = axis % 3
    xs = [np.ascontiguousarray(np.take(x, range(w), axis=ax)) for x, w in zip(xs, widths)]
    check("concat", xs, {"axis": axis})
    ints = [rng.integers(-(2**31), 2**31 - 1, x.shape).astype(np.int32) for x in xs]
    check("concat", ints, {"axis": axis})


@pytest.mark.parametrize(
    "shape, begin, end",
    [
        ((2, 5, 3), [2, 0], [1, 0]),
        ((2, 6, 7, 3), [1, -2, 0], [-1, 3, 1]),
        ((1, 3, 4, 5, 2), [1, 0, -1, 0], [0, 2, 1, 0]),
    ],
)
def test_pad_and_crop(shape: tuple, begin: list, end: list) -> None:
    rng = np.random.default_rng(len(shape))
    check("pad", [with_specials(rand(rng, *shape))], {"begin": begin, "end": end})


@pytest.mark.parametrize(
    "shape, repeats",
    [((2, 3, 4), [2, 1]), ((2, 3, 5, 3), [2, 3, 1]), ((1, 2, 3, 2, 3), [1, 2, 3, 1])],
)
def test_upsample(shape: tuple, repeats: list) -> None:
    rng = np.random.default_rng(sum(repeats))
    check("upsample", [rand(rng, *shape)], {"repeats": repeats})


def test_repeat_vector_and_identity() -> None:
    rng = np.random.default_rng(2)
    x = rand(rng, 3, 5)
    check("repeat_vector", [x], {"n": 4})
    check("identity", [x])
    check("identity", [rng.integers(-5, 5, (2, 3)).astype(np.int32)])


# ---- embedding ---------------------------------------------------------------


def test_embedding_int_and_float_ids() -> None:
    rng = np.random.default_rng(4)
    table = rand(rng, 11, 5)
    ids = rng.integers(0, 11, (3, 7)).astype(np.int32)
    check("embedding", [ids], {}, {"embeddings": table})
    fids = (ids + rng.random(ids.shape) * 0.99).astype(np.float32)  # truncated toward zero
    check("embedding", [fids], {}, {"embeddings": table})


@pytest.mark.parametrize("bad", [11, -1, np.nan])
def test_embedding_bad_id_raises_the_cpu_error(bad: float) -> None:
    table = np.ones((11, 3), np.float32)
    ids = np.array([[0, 3, 10], [2, 5, 7]], np.float32 if bad != bad else np.int32)
    ids[1, 1] = bad
    with pytest.raises(tfjs_infer.TfjsInferError) as cpu_err:
        run_op("embedding", [ids], {}, {"embeddings": table}, "generic")
    with pytest.raises(tfjs_infer.TfjsInferError) as dev_err:
        device_op("embedding", [ids], {}, {"embeddings": table})
    assert str(dev_err.value) == str(cpu_err.value)
    assert "at flat position 4" in str(dev_err.value)


# ---- attention ---------------------------------------------------------------


@pytest.mark.parametrize("zero_masked", [0, 1])
def test_attention_with_masks_and_scores(zero_masked: int) -> None:
    rng = np.random.default_rng(12)
    n, tq, tk, heads, kv_heads, dk, dv = 2, 5, 3, 4, 2, 3, 2
    q, k = rand(rng, n, tq, heads * dk), rand(rng, n, tk, kv_heads * dk)
    v = rand(rng, n, tk, kv_heads * dv)
    full = (rng.random((1, tq, tk)) > 0.3).astype(np.float32)
    full[0, 2] = 0  # a query row with every key masked
    key = (rng.random((n, tk)) > 0.2).astype(np.int32)
    qout = np.array([[1, 1, 0, 1, 1], [0, 1, 1, 1, 1]], np.float32)
    attrs = {
        "heads": heads,
        "kv_heads": kv_heads,
        "scale": 0.6,
        "masks": "full,key,query_out",
        "zero_masked": zero_masked,
        "causal": 1,
        "return_scores": 1,
    }
    check("attention", [q, k, v, full, key, qout], attrs, num_outputs=2)


def test_additive_attention() -> None:
    rng = np.random.default_rng(13)
    q, k, v = rand(rng, 2, 3, 6), rand(rng, 2, 5, 6), rand(rng, 2, 5, 6)
    attrs = {"score": "additive", "add_inner": 0.8, "add_outer": 1.5, "masks": "query"}
    qmask = np.array([[1, 0, 1], [1, 1, 1]], np.float32)
    check("attention", [q, k, v, qmask], attrs, {"add_scale": rand(rng, 6)})


# ---- depthwise with a depth multiplier ----------------------------------------


@pytest.mark.parametrize("multiplier, stride, padding", [(2, 1, "same"), (3, 2, "valid")])
def test_depthwise_with_depth_multiplier(multiplier: int, stride: int, padding: str) -> None:
    rng = np.random.default_rng(multiplier)
    c = 5
    x = with_specials(rand(rng, 2, 7, 6, c))
    kernel = rand(rng, 3, 3, c * multiplier, scale=0.5)
    attrs = {
        "strides": [stride, stride],
        "dilations": [1, 1],
        "padding": padding,
        "depth_multiplier": multiplier,
        "activation": "relu6",
    }
    check("depthwise_conv2d", [x], attrs, {"kernel": kernel, "bias": rand(rng, c * multiplier)})


# ---- recurrent layers --------------------------------------------------------

GATES = {"simple_rnn": 1, "lstm": 4, "gru": 3}


def rnn_case(
    cell: str,
    rng: np.random.Generator,
    n: int = 3,
    steps: int = 5,
    features: int = 4,
    units: int = 7,
    reset_after: int = 0,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    gu = GATES[cell] * units
    x = rand(rng, n, steps, features)
    weights = {
        "kernel": rand(rng, features, gu, scale=0.5),
        "recurrent_kernel": rand(rng, units, gu, scale=0.5),
        # GRU reset_after=True: input and recurrent biases, (2, 3u).
        "bias": rand(rng, *([2, gu] if reset_after else [gu]), scale=0.1),
    }
    return x, weights


def holes(rng: np.random.Generator, n: int, steps: int) -> np.ndarray:
    """A mask with holes: row 0 starts masked, row 1 is fully masked, row 2 random."""
    mask = (rng.random((n, steps)) > 0.35).astype(np.float32)
    mask[0, :2] = 0
    mask[1] = 0
    return mask


CELLS = [("simple_rnn", 0), ("lstm", 0), ("gru", 1), ("gru", 0)]


@pytest.mark.parametrize("cell, reset_after", CELLS)
@pytest.mark.parametrize("sequences, backwards", [(0, 0), (1, 1), (1, 0)])
def test_rnn_every_cell_plain(cell: str, reset_after: int, sequences: int, backwards: int) -> None:
    rng = np.random.default_rng(len(cell) + 3 * reset_after + sequences)
    x, weights = rnn_case(cell, rng, reset_after=reset_after)
    attrs = {
        "cell": cell,
        "units": 7,
        "reset_after": reset_after,
        "return_sequences": sequences,
        "go_backwards": backwards,
        "return_state": 1,
        "reverse_output": backwards,
    }
    states = 2 if cell == "lstm" else 1
    check("rnn", [x], attrs, weights, num_outputs=1 + states)


@pytest.mark.parametrize("cell, reset_after", CELLS)
@pytest.mark.parametrize("mask_output", ["state", "previous", "zero"])
def test_rnn_masked_with_initial_states(cell: str, reset_after: int, mask_output: str) -> None:
    rng = np.random.default_rng(len(cell) + reset_after + len(mask_output))
    n, steps, units = 3, 5, 7
    x, weights = rnn_case(cell, rng, n, steps, 4, units, reset_after)
    mask = holes(rng, n, steps)
    states = [rand(rng, n, units) for _ in range(2 if cell == "lstm" else 1)]
    attrs = {
        "cell": cell,
        "units": units,
        "reset_after": reset_after,
        "has_mask": 1,
        "mask_output": mask_output,
        "return_sequences": 1,
        "return_state": 1,
    }
    check("rnn", [x, mask, *states], attrs, weights, num_outputs=1 + len(states))


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_rnn_masked_last_output(cell: str) -> None:
    rng = np.random.default_rng(31)
    x, weights = rnn_case(cell, rng, n=4, steps=6, units=5)
    mask = holes(rng, 4, 6)
    mask[3, -1] = 0  # the last step masked: the output carries the state before it
    attrs = {"cell": cell, "units": 5, "has_mask": 1, "mask_output": "previous", "go_backwards": 1}
    check("rnn", [x, mask], attrs, weights)


# ---- 3D and transposed convolutions --------------------------------------------


@pytest.mark.parametrize(
    "padding, strides, dilations, groups",
    [
        ("valid", [1, 1, 1], [1, 1, 1], 1),
        ("same", [2, 1, 2], [1, 1, 1], 1),
        ("same", [1, 1, 1], [2, 1, 1], 2),
    ],
)
def test_conv3d(padding: str, strides: list, dilations: list, groups: int) -> None:
    rng = np.random.default_rng(groups + strides[0])
    cin, cout = 4, 6
    x = with_specials(rand(rng, 2, 5, 4, 6, cin))
    kernel = rand(rng, 3, 2, 3, cin // groups, cout, scale=0.3)
    attrs = {
        "strides": strides,
        "dilations": dilations,
        "padding": padding,
        "groups": groups,
        "activation": "gelu",
    }
    check("conv3d", [x], attrs, {"kernel": kernel, "bias": rand(rng, cout)})


@pytest.mark.parametrize(
    "rank, padding, strides, output_padding",
    [
        (1, "same", [2], [-1]),
        (2, "valid", [2, 3], [1, 0]),
        (2, "same", [1, 2], [-1, -1]),
        (3, "same", [2, 1, 2], [-1, -1, -1]),
    ],
)
def test_conv_transpose(rank: int, padding: str, strides: list, output_padding: list) -> None:
    rng = np.random.default_rng(rank + len(padding))
    cin, cout = 3, 5
    spatial = [5, 4, 3][:rank]
    x = rand(rng, 2, *spatial, cin)
    kernel = rand(rng, *[3, 2, 3][:rank], cout, cin, scale=0.4)
    attrs = {
        "strides": strides,
        "dilations": [1] * rank,
        "padding": padding,
        "output_padding": output_padding,
        "activation": "relu",
    }
    check(f"conv{rank}d_transpose", [x], attrs, {"kernel": kernel, "bias": rand(rng, cout)})


# ---- ConvLSTM2D recurrence ---------------------------------------------------


@pytest.mark.parametrize("kernel_size, states, sequences", [([3, 3], 0, 1), ([2, 3], 1, 0)])
def test_conv_lstm2d(kernel_size: list, states: int, sequences: int) -> None:
    rng = np.random.default_rng(sum(kernel_size) + states)
    n, steps, h, w, f = 2, 3, 4, 5, 3
    xw = rand(rng, n, steps, h, w, 4 * f)
    inputs = [xw] + [rand(rng, n, h, w, f) for _ in range(2 * states)]
    attrs = {
        "filters": f,
        "kernel_size": kernel_size,
        "go_backwards": states,
        "return_sequences": sequences,
        "return_state": 1,
    }
    weights = {"recurrent_kernel": rand(rng, *kernel_size, f, 4 * f, scale=0.4)}
    check("conv_lstm2d", inputs, attrs, weights, num_outputs=3)


# ---- element-wise and Keras 3 normalizations ----------------------------------


@pytest.mark.parametrize("alpha_shape", [(5, 3), (1, 3), (5, 1)])
def test_prelu(alpha_shape: tuple) -> None:
    rng = np.random.default_rng(sum(alpha_shape))
    x = with_specials(rand(rng, 4, 5, 3))
    check("prelu", [x], {}, {"alpha": rand(rng, *alpha_shape)})


@pytest.mark.parametrize(
    "scale, offset", [([0.5], [-1.0]), ([0.5, 2.0, 1 / 3], [0.1]), ([3.0], [1.0, 2.0, 3.0])]
)
def test_scale_shift_float_and_int(scale: list, offset: list) -> None:
    rng = np.random.default_rng(len(scale) + len(offset))
    attrs = {"scale": scale, "offset": offset}
    check("scale_shift", [with_specials(rand(rng, 4, 2, 3, scale=50.0))], attrs)
    check("scale_shift", [rng.integers(-300, 300, (4, 3)).astype(np.int32)], attrs)


@pytest.mark.parametrize("shape, axis, groups", [((2, 5, 6), -1, 3), ((2, 4, 3, 6), 1, 2)])
def test_group_norm(shape: tuple, axis: int, groups: int) -> None:
    rng = np.random.default_rng(groups)
    c = shape[axis]
    attrs = {"axis": axis, "groups": groups, "epsilon": 1e-3}
    weights = {"gamma": rand(rng, c), "beta": rand(rng, c)}
    check("group_norm", [rand(rng, *shape, scale=3.0)], attrs, weights)


@pytest.mark.parametrize("axes", [[-1], [1, 2]])
def test_rms_and_unit_norm(axes: list) -> None:
    rng = np.random.default_rng(len(axes))
    x = rand(rng, 3, 4, 5)
    x[1, 2] = 0.0  # a zero vector
    scale = rand(rng, *(x.shape[1:] if len(axes) == 2 else (5,)))
    check("rms_norm", [x], {"axes": axes, "epsilon": 1e-6}, {"scale": scale})
    check("unit_norm", [x], {"axes": axes})


# ---- mask helpers ------------------------------------------------------------


def test_not_equal_mask_float_and_int() -> None:
    rng = np.random.default_rng(8)
    ids = rng.integers(0, 3, (3, 7)).astype(np.int32)
    check("not_equal_mask", [ids], {"value": 0})
    x = with_specials(rng.integers(0, 3, (3, 7)).astype(np.float32))
    check("not_equal_mask", [x], {"value": 1.0})


@pytest.mark.parametrize("select", [0, 1])
def test_masking(select: int) -> None:
    rng = np.random.default_rng(select)
    x = rand(rng, 3, 5, 4)
    x[0, 1] = 0.5
    x[2, 3] = 0.5
    x[1, 0, 2] = np.nan  # NaN counts as different
    x[1, 4] = np.inf
    check("masking", [x], {"mask_value": 0.5, "select": select}, num_outputs=2)


def test_fills_masked_mean_reduce_mask_and_time_folds() -> None:
    rng = np.random.default_rng(14)
    x = rand(rng, 3, 5, 4)
    mask = (rng.random((3, 5)) > 0.4).astype(np.float32)
    mask[1] = 0  # a fully masked row: NaN, as Keras
    check("ones_mask", [x])
    check("fill_like", [x], {"value": -2.5})
    check("masked_mean", [x, mask], {"keepdims": 1})
    for all_ in (0, 1):
        check("reduce_mask", [mask], {"axis": 1, "all": all_})
        check(
            "reduce_mask",
            [rng.integers(0, 2, (2, 3, 4)).astype(np.int32)],
            {"axis": -2, "all": all_},
        )
    check("time_fold", [x])
    # time_unfold's two batch axes do not fit a one-op graph: the
    # TimeDistributed fixture models run it (test_device_runtime.py).


# ---- Dot and softmax over any axis ---------------------------------------------


@pytest.mark.parametrize(
    "xs, ys, axes",
    [((3, 5), (3, 5), [1, 1]), ((2, 4, 3), (2, 5, 4), [1, 2]), ((2, 3, 4), (2, 5, 4), [2, 2])],
)
@pytest.mark.parametrize("normalize, eps_on_norm", [(0, 0), (1, 0), (1, 1)])
def test_batch_dot(xs: tuple, ys: tuple, axes: list, normalize: int, eps_on_norm: int) -> None:
    rng = np.random.default_rng(len(xs) + normalize)
    x, y = rand(rng, *xs), rand(rng, *ys)
    x.reshape(-1)[0] = 0.0
    if normalize:
        x[1] = 0.0  # a zero vector: the epsilon decides
    attrs = {
        "axes": axes,
        "normalize": normalize,
        "norm_eps": 1e-12,
        "norm_eps_on_norm": eps_on_norm,
    }
    check("batch_dot", [x, y], attrs)


@pytest.mark.parametrize("axis", [1, 2, -2, 0])
@pytest.mark.parametrize("log", [0, 1])
def test_softmax_over_any_axis(axis: int, log: int) -> None:
    rng = np.random.default_rng(axis + 7)
    x = with_specials(rand(rng, 3, 4, 5, scale=3.0))
    # The device sums exp as a fixed tree (cuda_kernels.py): a few ulps.
    check("softmax", [x], {"axis": axis, "log": log}, exact=False)


# ---- resize (the CPU op's own taps) --------------------------------------------


@pytest.mark.parametrize(
    "attrs",
    [
        {"method": "bilinear", "coords": "asymmetric", "scale": [2, 3]},
        {"method": "bilinear", "coords": "half_pixel", "size": [7, 4]},
        {"method": "nearest", "coords": "asymmetric", "scale": [3, 2]},
        {"method": "nearest", "coords": "half_pixel", "size": [4, 9]},
        {"method": "bilinear", "coords": "half_pixel", "crop": "aspect", "size": [3, 6]},
        {"method": "bilinear", "coords": "half_pixel", "crop": "center", "size": [3, 4]},
        {"method": "bilinear", "coords": "half_pixel", "crop": "center", "size": [8, 4]},
        {"method": "nearest", "coords": "half_pixel", "size": [5, 6]},
    ],
)
def test_resize(attrs: dict) -> None:
    rng = np.random.default_rng(len(str(attrs)))
    check("resize", [with_specials(rand(rng, 2, 5, 6, 3))], attrs)
