"""The core convolution ops against direct numpy convolutions, across random
shapes (hypothesis) and every ISA this machine has.

The references below are written from TensorFlow's convolution definitions in
float64: a direct sum over kernel taps for the forward and depthwise ops, and
the scatter form of the gradient of the forward convolution for the
transposed ops. They share no code with tfjs_infer.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tfjs_infer
from tfjs_infer import _core

ISAS = tfjs_infer.available_isas()
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# -- references ---------------------------------------------------------------------
def pads_for(n: int, k: int, s: int, d: int, padding) -> tuple[int, int, int]:
    """(pad_before, pad_after, out) for one spatial dim, TF's rule; padding may
    be an explicit (before, after) pair."""
    ke = (k - 1) * d + 1
    if isinstance(padding, tuple):
        b, a = padding
        return b, a, max(0, -(-(n + b + a - ke + 1) // s))
    if padding == "valid":
        return 0, 0, max(0, -(-(n - ke + 1) // s))
    if padding == "causal":
        return ke - 1, 0, -(-n // s)
    out = -(-n // s)
    total = max((out - 1) * s + ke - n, 0)
    return total // 2, total - total // 2, out


def per_dim(padding, i):
    return tuple(padding[i]) if isinstance(padding, list) else padding


def op_padding(padding) -> dict:
    """Core attrs for a padding given as a name or as per-dim (before, after) pairs."""
    if isinstance(padding, list):
        return {"padding": "explicit", "pads": [v for pair in padding for v in pair]}
    return {"padding": padding}


def ref_conv(x, w, b, strides, dilations, padding, groups=1):
    """x (N, *sp, cin), w (*k, cin/g, cout): direct sum over taps, float64."""
    rank = x.ndim - 2
    geo = [
        pads_for(x.shape[1 + i], w.shape[i], strides[i], dilations[i], per_dim(padding, i))
        for i in range(rank)
    ]
    xp = np.pad(x.astype(np.float64), [(0, 0), *[(p0, p1) for p0, p1, _ in geo], (0, 0)])
    out_sp = [o for _, _, o in geo]
    cin_g, cout = w.shape[-2], w.shape[-1]
    cout_g = cout // groups
    y = np.zeros((x.shape[0], *out_sp, cout))
    for tap in itertools.product(*[range(k) for k in w.shape[:rank]]):
        sl = tuple(
            slice(t * d, t * d + (o - 1) * s + 1, s)
            for t, d, s, o in zip(tap, dilations, strides, out_sp)
        )
        patch = xp[(slice(None), *sl)]
        for g in range(groups):
            y[..., g * cout_g : (g + 1) * cout_g] += (
                patch[..., g * cin_g : (g + 1) * cin_g] @ w[tap][:, g * cout_g : (g + 1) * cout_g]
            )
    return y + (0 if b is None else b)


def ref_depthwise(x, w, b, strides, dilations, padding):
    """w (*k, cin, dm): output channel c * dm + m."""
    rank = x.ndim - 2
    cin, dm = w.shape[-2], w.shape[-1]
    geo = [
        pads_for(x.shape[1 + i], w.shape[i], strides[i], dilations[i], per_dim(padding, i))
        for i in range(rank)
    ]
    xp = np.pad(x.astype(np.float64), [(0, 0), *[(p0, p1) for p0, p1, _ in geo], (0, 0)])
    out_sp = [o for _, _, o in geo]
    y = np.zeros((x.shape[0], *out_sp, cin, dm))
    for tap in itertools.product(*[range(k) for k in w.shape[:rank]]):
        sl = tuple(
            slice(t * d, t * d + (o - 1) * s + 1, s)
            for t, d, s, o in zip(tap, dilations, strides, out_sp)
        )
        y += xp[(slice(None), *sl)][..., None] * w[tap]
    y = y.reshape(*y.shape[:-2], cin * dm)
    return y + (0 if b is None else b)


def ref_conv_transpose(x, w, b, strides, dilations, padding, out_sp):
    """w (*k, cout, cin); out[i s - pb + k d] += x[i] . W[k]^T (the gradient of
    the forward convolution of the output)."""
    rank = x.ndim - 2
    cout = w.shape[-2]
    pb = []
    for i in range(rank):
        ke = (w.shape[i] - 1) * dilations[i] + 1
        total = (x.shape[1 + i] - 1) * strides[i] + ke - out_sp[i]
        pb.append(max(total, 0) // 2 if padding == "same" else 0)
    y = np.zeros((x.shape[0], *out_sp, cout))
    x64 = x.astype(np.float64)
    for pos in itertools.product(*[range(n) for n in x.shape[1:-1]]):
        for tap in itertools.product(*[range(k) for k in w.shape[:rank]]):
            o = [p * s - q + t * d for p, s, q, t, d in zip(pos, strides, pb, tap, dilations)]
            if all(0 <= oi < n for oi, n in zip(o, out_sp)):
                y[(slice(None), *o)] += x64[(slice(None), *pos)] @ w[tap].T
    return y + (0 if b is None else b)


# -- running one core op ---------------------------------------------------------------
def run_op(op_type, x, attrs, weights, isa, num_threads=1, out_shape=None):
    g = _core.Graph()
    xin = g.add_input("x", [None, *x.shape[1:]], "float32")
    (y,) = g.add_op(op_type, "op", [xin], attrs, weights)
    g.set_outputs([y])
    model = _core.CompiledModel(g, isa=isa, num_threads=num_threads, optimize=False)
    return model.run([np.ascontiguousarray(x, np.float32)])[0]


def rand(rng, shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def close(got, ref, k):
    # float32 accumulation over k products of O(1) values
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=2e-6 * math.sqrt(k) + 1e-5)


# -- forward convolution -----------------------------------------------------------------
@st.composite
def conv_case(draw, rank=None):
    rank = rank or draw(st.integers(1, 3))
    groups = draw(st.sampled_from([1, 1, 1, 2, 3]))
    cin = groups * draw(st.integers(1, 5))
    cout = groups * draw(st.integers(1, 6 if rank == 3 else 12))
    k = [draw(st.integers(1, 4)) for _ in range(rank)]
    dilated = draw(st.booleans())
    s = [1] * rank if dilated else [draw(st.integers(1, 3)) for _ in range(rank)]
    d = [draw(st.integers(1, 3)) for _ in range(rank)] if dilated else [1] * rank
    pads = ["valid", "same", "explicit"] + (["causal"] if rank == 1 else [])
    padding = draw(st.sampled_from(pads))
    sp = [draw(st.integers(1, 12 if rank < 3 else 6)) for _ in range(rank)]
    if padding == "explicit":  # a folded ZeroPadding: any (before, after) per dim
        padding = [(draw(st.integers(0, 3)), draw(st.integers(0, 3))) for _ in range(rank)]
    if padding == "valid" or isinstance(padding, list):
        extra = [0] * rank if padding == "valid" else [b + a for b, a in padding]
        sp = [max(n, (kk - 1) * dd + 1 - e) for n, kk, dd, e in zip(sp, k, d, extra)]
        sp = [max(n, 1) for n in sp]
    batch = draw(st.integers(1, 3))
    bias = draw(st.booleans())
    seed = draw(st.integers(0, 2**31))
    return rank, groups, cin, cout, k, s, d, padding, sp, batch, bias, seed


@pytest.mark.parametrize("isa", ISAS)
@SETTINGS
@given(case=conv_case())
def test_conv_matches_numpy(isa, case):
    rank, groups, cin, cout, k, s, d, padding, sp, batch, bias, seed = case
    rng = np.random.default_rng(seed)
    x = rand(rng, (batch, *sp, cin))
    w = rand(rng, (*k, cin // groups, cout), 1 / math.sqrt(np.prod(k) * cin))
    b = rand(rng, (cout,)) if bias else None
    attrs = {"strides": s, "dilations": d, "groups": groups, **op_padding(padding)}
    got = run_op(f"conv{rank}d", x, attrs, {"kernel": w, "bias": b}, isa)
    ref = ref_conv(x, w, b, s, d, padding, groups)
    assert got.shape == ref.shape
    close(got, ref, np.prod(k) * cin)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("activation", ["relu", "relu6", "sigmoid", "tanh", "elu", "softmax"])
def test_conv_fused_activation(isa, activation):
    rng = np.random.default_rng(7)
    x = rand(rng, (2, 9, 7, 5))
    w = rand(rng, (3, 3, 5, 11), 0.6)
    b = rand(rng, (11,))
    attrs = {"strides": [2, 1], "padding": "same", "activation": activation}
    if activation == "elu":
        attrs["act_alpha"] = 1.0
    got = run_op("conv2d", x, attrs, {"kernel": w, "bias": b}, isa)
    z = ref_conv(x, w, b, [2, 1], [1, 1], "same")
    ref = {
        "relu": lambda v: np.maximum(v, 0),
        "relu6": lambda v: np.clip(v, 0, 6),
        "sigmoid": lambda v: 1 / (1 + np.exp(-v)),
        "tanh": np.tanh,
        "elu": lambda v: np.where(v > 0, v, np.expm1(np.minimum(v, 0))),
        "softmax": lambda v: (
            np.exp(v - v.max(-1, keepdims=True))
            / np.exp(v - v.max(-1, keepdims=True)).sum(-1, keepdims=True)
        ),
    }[activation](z)
    close(got, ref, 45)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize(
    "shape,k,cin,cout",
    [
        ((1, 40, 37), (3, 3), 48, 70),  # several im2col tiles per image, panel tail
        ((3, 19, 23), (5, 5), 64, 17),  # K = 1600: a tile of a few dozen rows
        ((2, 30, 30), (1, 1), 33, 65),  # pointwise, rows split over threads
        ((1, 7, 7), (3, 3), 64, 96),  # batch 1 and few pixels: columns split
    ],
)
def test_conv_threads_and_batch_do_not_change_bits(isa, shape, k, cin, cout):
    rng = np.random.default_rng(11)
    n, h, wd = shape
    x = rand(rng, (n, h, wd, cin))
    w = rand(rng, (*k, cin, cout), 1 / math.sqrt(np.prod(k) * cin))
    b = rand(rng, (cout,))
    attrs = {"padding": "same", "activation": "relu"}
    one = run_op("conv2d", x, attrs, {"kernel": w, "bias": b}, isa, num_threads=1)
    two = run_op("conv2d", x, attrs, {"kernel": w, "bias": b}, isa, num_threads=2)
    rows = np.concatenate(
        [
            run_op("conv2d", x[i : i + 1], attrs, {"kernel": w, "bias": b}, isa, num_threads=2)
            for i in range(n)
        ]
    )
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(one, rows)
    close(one, np.maximum(ref_conv(x, w, b, [1, 1], [1, 1], "same"), 0), np.prod(k) * cin)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("k,stride", [(1, 1), (3, 1), (3, 2)])
def test_conv_fused_residual(isa, k, stride):
    """has_residual (set by the Add-fusion pass): act(conv(x) + bias + r)."""
    rng = np.random.default_rng(3)
    x = rand(rng, (2, 9, 8, 6))
    w = rand(rng, (k, k, 6, 10), 0.3)
    b = rand(rng, (10,))
    oh, ow = -(-9 // stride), -(-8 // stride)
    r = rand(rng, (2, oh, ow, 10))
    g = _core.Graph()
    xin = g.add_input("x", [None, 9, 8, 6], "float32")
    rin = g.add_input("r", [None, oh, ow, 10], "float32")
    attrs = {"strides": [stride] * 2, "padding": "same", "has_residual": 1, "activation": "relu"}
    (y,) = g.add_op("conv2d", "conv", [xin, rin], attrs, {"kernel": w, "bias": b})
    g.set_outputs([y])
    for threads in (1, 2):
        model = _core.CompiledModel(g, isa=isa, num_threads=threads, optimize=False)
        got = model.run([x, r])[0]
        ref = np.maximum(ref_conv(x, w, b, [stride] * 2, [1, 1], "same") + r, 0)
        close(got, ref, k * k * 6)


# -- depthwise ------------------------------------------------------------------------
@st.composite
def depthwise_case(draw):
    rank = draw(st.integers(1, 2))
    cin = draw(st.integers(1, 40))
    dm = draw(st.sampled_from([1, 1, 2, 3]))
    k = [draw(st.integers(1, 5)) for _ in range(rank)]
    dilated = draw(st.booleans())
    s = [1] * rank if dilated else [draw(st.integers(1, 3)) for _ in range(rank)]
    d = [draw(st.integers(1, 3)) for _ in range(rank)] if dilated else [1] * rank
    padding = draw(st.sampled_from(["valid", "same", "explicit"]))
    sp = [draw(st.integers(1, 13)) for _ in range(rank)]
    if padding == "explicit":
        padding = [(draw(st.integers(0, 3)), draw(st.integers(0, 3))) for _ in range(rank)]
    if padding == "valid" or isinstance(padding, list):
        extra = [0] * rank if padding == "valid" else [b + a for b, a in padding]
        sp = [max(n, (kk - 1) * dd + 1 - e, 1) for n, kk, dd, e in zip(sp, k, d, extra)]
    return (
        rank,
        cin,
        dm,
        k,
        s,
        d,
        padding,
        sp,
        draw(st.integers(1, 3)),
        draw(st.booleans()),
        draw(st.sampled_from(["linear", "relu", "relu6", "tanh"])),
        draw(st.integers(0, 2**31)),
    )


@pytest.mark.parametrize("isa", ISAS)
@SETTINGS
@given(case=depthwise_case())
def test_depthwise_matches_numpy(isa, case):
    rank, cin, dm, k, s, d, padding, sp, batch, bias, act, seed = case
    rng = np.random.default_rng(seed)
    x = rand(rng, (batch, *sp, cin), 2.0)
    w = rand(rng, (*k, cin, dm), 1 / math.sqrt(np.prod(k)))
    b = rand(rng, (cin * dm,)) if bias else None
    attrs = {
        "strides": s,
        "dilations": d,
        **op_padding(padding),
        "depth_multiplier": dm,
        "activation": act,
    }
    got = run_op(
        f"depthwise_conv{rank}d",
        x,
        attrs,
        {"kernel": w.reshape(*k, cin * dm), "bias": b},
        isa,
        num_threads=2,
    )
    z = ref_depthwise(x, w, b, s, d, padding)
    ref = {"linear": z, "relu": np.maximum(z, 0), "relu6": np.clip(z, 0, 6), "tanh": np.tanh(z)}[
        act
    ]
    assert got.shape == ref.shape
    close(got, ref, np.prod(k))


@pytest.mark.parametrize("isa", ISAS)
def test_depthwise_threads_and_batch_do_not_change_bits(isa):
    rng = np.random.default_rng(5)
    x = rand(rng, (3, 29, 31, 37))
    w = rand(rng, (3, 3, 37), 0.3)
    b = rand(rng, (37,))
    attrs = {"strides": [2, 2], "padding": "same", "activation": "relu6"}
    one = run_op("depthwise_conv2d", x, attrs, {"kernel": w, "bias": b}, isa, num_threads=1)
    two = run_op("depthwise_conv2d", x, attrs, {"kernel": w, "bias": b}, isa, num_threads=2)
    rows = np.concatenate(
        [
            run_op(
                "depthwise_conv2d",
                x[i : i + 1],
                attrs,
                {"kernel": w, "bias": b},
                isa,
                num_threads=2,
            )
            for i in range(3)
        ]
    )
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(one, rows)


# -- transposed -----------------------------------------------------------------------
@st.composite
def transpose_case(draw):
    rank = draw(st.integers(1, 3))
    cin = draw(st.integers(1, 5))
    cout = draw(st.integers(1, 7))
    k = [draw(st.integers(1, 4)) for _ in range(rank)]
    dilated = draw(st.booleans())
    s = [1] * rank if dilated else [draw(st.integers(1, 3)) for _ in range(rank)]
    d = [draw(st.integers(1, 3)) for _ in range(rank)] if dilated else [1] * rank
    padding = draw(st.sampled_from(["valid", "same"]))
    sp = [draw(st.integers(1, 6 if rank < 3 else 3)) for _ in range(rank)]
    op = [draw(st.one_of(st.just(-1), st.integers(0, si - 1))) for si in s]
    return (
        rank,
        cin,
        cout,
        k,
        s,
        d,
        padding,
        sp,
        op,
        draw(st.integers(1, 2)),
        draw(st.integers(0, 2**31)),
    )


def deconv_len(n, k, s, d, padding, op):
    ke = (k - 1) * d + 1
    if op < 0:
        return n * s if padding == "same" else n * s + max(ke - s, 0)
    return (n - 1) * s + ke - 2 * (ke // 2 if padding == "same" else 0) + op


@pytest.mark.parametrize("isa", ISAS)
@SETTINGS
@given(case=transpose_case())
def test_conv_transpose_matches_numpy(isa, case):
    rank, cin, cout, k, s, d, padding, sp, op, batch, seed = case
    out_sp = [deconv_len(n, kk, ss, dd, padding, o) for n, kk, ss, dd, o in zip(sp, k, s, d, op)]
    # TF refuses lengths whose forward convolution does not give the input back.
    consistent = all(
        n2 >= 1 and pads_for(n2, kk, ss, dd, padding)[2] == n
        for n2, n, kk, ss, dd in zip(out_sp, sp, k, s, d)
    )
    rng = np.random.default_rng(seed)
    x = rand(rng, (batch, *sp, cin))
    w = rand(rng, (*k, cout, cin), 1 / math.sqrt(np.prod(k) * cin))
    b = rand(rng, (cout,))
    attrs = {"strides": s, "dilations": d, "padding": padding, "output_padding": op}
    if not consistent:
        with pytest.raises(tfjs_infer.InvalidModelError, match="inconsistent"):
            run_op(f"conv{rank}d_transpose", x, attrs, {"kernel": w, "bias": b}, isa)
        return
    got = run_op(f"conv{rank}d_transpose", x, attrs, {"kernel": w, "bias": b}, isa, num_threads=2)
    ref = ref_conv_transpose(x, w, b, s, d, padding, out_sp)
    assert got.shape == ref.shape
    close(got, ref, np.prod(k) * cin)


# -- errors ------------------------------------------------------------------------------
def test_conv_rejects_stride_with_dilation():
    x = np.zeros((1, 8, 8, 2), np.float32)
    w = np.zeros((3, 3, 2, 4), np.float32)
    with pytest.raises(tfjs_infer.InvalidModelError, match="dilation_rate"):
        run_op("conv2d", x, {"strides": [2, 2], "dilations": [2, 1]}, {"kernel": w}, "generic")


def test_conv_rejects_bad_groups_and_padding():
    x = np.zeros((1, 8, 8, 4), np.float32)
    with pytest.raises(tfjs_infer.InvalidModelError, match="divisible by groups"):
        run_op(
            "conv2d", x, {"groups": 2}, {"kernel": np.zeros((3, 3, 2, 5), np.float32)}, "generic"
        )
    with pytest.raises(tfjs_infer.InvalidModelError, match="padding 'causal'"):
        run_op(
            "conv2d",
            x,
            {"padding": "causal"},
            {"kernel": np.zeros((3, 3, 4, 5), np.float32)},
            "generic",
        )


def test_conv_input_too_small_for_valid_window():
    g = _core.Graph()
    xin = g.add_input("x", [None, None, None, None], "float32")
    (y,) = g.add_op(
        "conv2d",
        "conv",
        [xin],
        {"padding": "valid"},
        {"kernel": np.zeros((5, 5, 3, 2), np.float32)},
    )
    g.set_outputs([y])
    model = _core.CompiledModel(g, isa="generic")
    with pytest.raises(tfjs_infer.InputShapeError, match="smaller than the kernel window"):
        model.run([np.zeros((1, 4, 9, 3), np.float32)])
    with pytest.raises(tfjs_infer.InputShapeError, match="input channels"):
        model.run([np.zeros((1, 9, 9, 2), np.float32)])
    assert model.run([np.zeros((2, 5, 9, 3), np.float32)])[0].shape == (2, 1, 5, 2)


# -- graph passes around convolutions ------------------------------------------------
@pytest.mark.parametrize("op", ["conv2d", "depthwise_conv2d"])
def test_zero_padding_folds_into_valid_convolution(op):
    rng = np.random.default_rng(9)
    x = rand(rng, (2, 7, 6, 4))
    kernel = rand(rng, (3, 3, 4, 5) if op == "conv2d" else (3, 3, 4), 0.3)
    g = _core.Graph()
    xin = g.add_input("x", [None, 7, 6, 4], "float32")
    (p,) = g.add_op("pad", "pad", [xin], {"begin": [1, 0, 0], "end": [2, 1, 0]}, {})
    (y,) = g.add_op(op, "conv", [p], {"strides": [2, 1]}, {"kernel": kernel})
    g.set_outputs([y])
    fused = _core.CompiledModel(g, num_threads=1)
    plain = _core.CompiledModel(g, num_threads=1, optimize=False)
    assert [o[1] for o in fused.ops()] == [op]
    assert [o[1] for o in plain.ops()] == ["pad", op]
    np.testing.assert_array_equal(fused.run([x])[0], plain.run([x])[0])


@st.composite
def chain_case(draw):
    return {
        "h": draw(st.integers(1, 23)),
        "w": draw(st.integers(1, 23)),
        "cin": draw(st.integers(1, 20)),
        "e": draw(st.integers(1, 70)),
        "cout": draw(st.integers(1, 20)),
        "k": draw(st.sampled_from([1, 2, 3, 5])),
        "s": draw(st.sampled_from([1, 2])),
        "d": draw(st.sampled_from([1, 1, 2])),
        "padding": draw(st.sampled_from(["same", "valid", "pad"])),
        "expand": draw(st.booleans()),
        "residual": draw(st.booleans()),
        "acts": draw(st.tuples(*[st.sampled_from(["linear", "relu6", "tanh"])] * 3)),
        "batch": draw(st.integers(1, 3)),
        "threads": draw(st.sampled_from([1, 2])),
        "seed": draw(st.integers(0, 2**31)),
    }


@pytest.mark.parametrize("isa", ISAS)
@SETTINGS
@given(c=chain_case())
def test_conv_chain_fusion_is_bitwise_invisible(isa, c):
    """expand 1x1 -> (pad ->) depthwise -> project 1x1 (+ Add): the fused
    "conv_chain" op gives exactly the bits of the three ops run one by one."""
    check_conv_chain(isa, c)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("s", [1, 2])
def test_conv_chain_whole_image_mode_on_two_threads(isa, batch, s):
    """A MobileNetV2 14x14 block on 2 threads: the expanded image fits the
    shared scratch, so the op expands whole images before the depthwise."""
    c = {
        "h": 14,
        "w": 14,
        "cin": 96,
        "e": 576,
        "cout": 96,
        "k": 3,
        "s": s,
        "d": 1,
        "padding": "same",
        "expand": True,
        "residual": s == 1,
        "acts": ("relu6", "tanh", "linear"),
        "batch": batch,
        "threads": 2,
        "seed": 5,
    }
    check_conv_chain(isa, c)


def check_conv_chain(isa, c):
    if c["s"] > 1 and c["d"] > 1:
        c["d"] = 1
    ke = (c["k"] - 1) * c["d"] + 1
    if c["padding"] != "same":
        c["h"], c["w"] = max(c["h"], ke), max(c["w"], ke)
    rng = np.random.default_rng(c["seed"])
    cin = c["cin"] if c["expand"] else c["e"]
    x = rand(rng, (c["batch"], c["h"], c["w"], cin))
    g = _core.Graph()
    xin = g.add_input("x", [None, c["h"], c["w"], cin], "float32")
    v = xin
    act = lambda a: {"activation": a}  # noqa: E731
    if c["expand"]:
        wk = {"kernel": rand(rng, (1, 1, cin, c["e"]), 0.5), "bias": rand(rng, (c["e"],))}
        (v,) = g.add_op("conv2d", "expand", [v], act(c["acts"][0]), wk)
    if c["padding"] == "pad":
        (v,) = g.add_op("pad", "pad", [v], {"begin": [1, 0, 0], "end": [0, 1, 0]}, {})
    dw = {"kernel": rand(rng, (c["k"], c["k"], c["e"]), 0.5), "bias": rand(rng, (c["e"],))}
    dattrs = {"strides": [c["s"]] * 2, "dilations": [c["d"]] * 2, **act(c["acts"][1])}
    dattrs["padding"] = "same" if c["padding"] == "same" else "valid"
    (v,) = g.add_op("depthwise_conv2d", "dw", [v], dattrs, dw)
    pw = {"kernel": rand(rng, (1, 1, c["e"], c["cout"]), 0.3), "bias": rand(rng, (c["cout"],))}
    (y,) = g.add_op("conv2d", "project", [v], {}, pw)
    feeds = [x]
    if c["residual"]:
        pad = {"same": ["same"] * 2, "valid": ["valid"] * 2, "pad": [(1, 0), (0, 1)]}
        shape = (
            [None]
            + [
                pads_for(n, c["k"], c["s"], c["d"], pd)[2]
                for n, pd in zip((c["h"], c["w"]), pad[c["padding"]])
            ]
            + [c["cout"]]
        )
        rin = g.add_input("r", shape, "float32")
        (y,) = g.add_op("add", "add", [y, rin], {}, {})
        feeds.append(rand(rng, (c["batch"], *shape[1:])))
    (y,) = g.add_op("activation", "act", [y], act(c["acts"][2]), {})
    g.set_outputs([y])
    fused = _core.CompiledModel(g, isa=isa, num_threads=c["threads"])
    plain = _core.CompiledModel(g, isa=isa, num_threads=1, optimize=False)
    assert [o[1] for o in fused.ops()] == ["conv_chain"]
    np.testing.assert_array_equal(fused.run(feeds)[0], plain.run(feeds)[0])


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("k", [3, 5])
@pytest.mark.parametrize(
    "s,d",
    [((1, 1), (2, 1)), ((1, 1), (1, 2)), ((1, 1), (2, 2)), ((2, 2), (1, 1)), ((2, 1), (1, 1))],
)
@pytest.mark.parametrize("c", [16, 37])
def test_depthwise_kernel_paths(isa, k, s, d, c):
    """Every SIMD path of the depthwise kernel (register-held K x K weights,
    shared input columns for stride 1 and 2, 8/4/2/1-pixel groups, border
    pixels) on a wide image, against numpy."""
    rng = np.random.default_rng(k * 100 + c)
    x = rand(rng, (2, 13, 29, c))
    w = rand(rng, (k, k, c, 1), 0.4)
    b = rand(rng, (c,))
    attrs = {"strides": list(s), "dilations": list(d), "padding": "same", "activation": "relu6"}
    got = run_op("depthwise_conv2d", x, attrs, {"kernel": w.reshape(k, k, c), "bias": b}, isa)
    close(got, np.clip(ref_depthwise(x, w, b, s, d, "same"), 0, 6), k * k)


@st.composite
def conv_pool_case(draw):
    return {
        "h": draw(st.integers(2, 30)),
        "w": draw(st.integers(2, 30)),
        "cin": draw(st.integers(1, 9)),
        "cout": draw(st.integers(1, 40)),
        "k": draw(st.sampled_from([1, 2, 3, 5])),
        "s": draw(st.sampled_from([1, 2])),
        "padding": draw(st.sampled_from(["same", "valid"])),
        "pool": draw(st.sampled_from([(2, 2), (3, 3), (2, 3), (1, 2)])),
        "mode": draw(st.sampled_from(["max", "avg"])),
        "act": draw(st.sampled_from(["linear", "relu", "tanh"])),
        "batch": draw(st.integers(1, 5)),
        "threads": draw(st.sampled_from([1, 2])),
        "seed": draw(st.integers(0, 2**31)),
    }


def check_conv_pool(isa, c):
    rng = np.random.default_rng(c["seed"])
    h = max(c["h"], c["k"] + c["pool"][0] * c["s"])
    w = max(c["w"], c["k"] + c["pool"][1] * c["s"])
    x = rand(rng, (c["batch"], h, w, c["cin"]))
    g = _core.Graph()
    xin = g.add_input("x", [None, h, w, c["cin"]], "float32")
    wk = {"kernel": rand(rng, (c["k"], c["k"], c["cin"], c["cout"]), 0.5)}
    wk["bias"] = rand(rng, (c["cout"],))
    attrs = {"strides": [c["s"]] * 2, "padding": c["padding"], "activation": c["act"]}
    (v,) = g.add_op("conv2d", "conv", [xin], attrs, wk)
    pattrs = {"mode": c["mode"], "pool_size": list(c["pool"]), "strides": list(c["pool"])}
    (y,) = g.add_op("pool", "pool", [v], {**pattrs, "padding": "valid"}, {})
    g.set_outputs([y])
    fused = _core.CompiledModel(g, isa=isa, num_threads=c["threads"])
    plain = _core.CompiledModel(g, isa=isa, num_threads=1, optimize=False)
    assert [o[1] for o in fused.ops()] == ["conv2d_pool"]
    assert [o[1] for o in plain.ops()] == ["conv2d", "pool"]
    np.testing.assert_array_equal(fused.run([x])[0], plain.run([x])[0])


@pytest.mark.parametrize("isa", ISAS)
@SETTINGS
@given(c=conv_pool_case())
def test_conv_pool_fusion_is_bitwise_invisible(isa, c):
    """conv2d -> non-overlapping 'valid' pooling: the fused op (the conv
    pools bands of its rows in scratch) gives exactly the unfused bits."""
    check_conv_pool(isa, c)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("threads", [1, 2])
def test_conv_pool_fusion_mnist_shapes(isa, threads):
    """The MNIST CNN's first layer: Conv(32, 3x3) on 28x28x1 -> MaxPool 2x2,
    batch 64 (many bands and tasks)."""
    c = {
        "h": 28,
        "w": 28,
        "cin": 1,
        "cout": 32,
        "k": 3,
        "s": 1,
        "padding": "valid",
        "pool": (2, 2),
        "mode": "max",
        "act": "relu",
        "batch": 64,
        "threads": threads,
        "seed": 3,
    }
    check_conv_pool(isa, c)


def test_overlapping_or_padded_pooling_is_not_fused():
    rng = np.random.default_rng(0)
    for pool_attrs in (
        {"mode": "max", "pool_size": [3, 3], "strides": [2, 2], "padding": "valid"},
        {"mode": "max", "pool_size": [2, 2], "strides": [2, 2], "padding": "same"},
    ):
        g = _core.Graph()
        xin = g.add_input("x", [None, 12, 12, 3], "float32")
        wk = {"kernel": rand(rng, (3, 3, 3, 8))}
        (v,) = g.add_op("conv2d", "conv", [xin], {"strides": [1, 1], "padding": "same"}, wk)
        (y,) = g.add_op("pool", "pool", [v], pool_attrs, {})
        g.set_outputs([y])
        assert [o[1] for o in _core.CompiledModel(g).ops()] == ["conv2d", "pool"]
