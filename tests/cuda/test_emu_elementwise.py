"""CUDA element-wise, softmax and pooling kernels against the CPU engine:
every activation (NaN, inf, -0 and huge inputs included), broadcast merges,
inference BatchNorm and Rescaling as a per-channel affine, PReLU, softmax and
log-softmax, windowed and global pooling. Tolerances: see cuda_kernels.py."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from cuda_kernels import CT, needs_kernels, rand, run_op, same, tf_geometry, with_specials

from tfjs_infer import _core

pytestmark = needs_kernels
CPU = _core._testing

ACTIVATIONS = [
    ("linear", 0, 0, 0),
    ("relu", 0, 0, 0),
    ("relu6", 0, 0, 0),
    ("relu_general", 6.0, 0.5, 0.1),
    ("relu_general", np.inf, 0.0, 0.0),
    ("leaky_relu", 0.3, 0, 0),
    ("elu", 0.7, 0, 0),
    ("selu", 0, 0, 0),
    ("sigmoid", 0, 0, 0),
    ("hard_sigmoid", 0.2, 0.5, 0),
    ("hard_sigmoid", 1 / 6, 0.5, 0),
    ("softplus", 0, 0, 0),
    ("softsign", 0, 0, 0),
    ("tanh", 0, 0, 0),
    ("swish", 0, 0, 0),
    ("mish", 0, 0, 0),
    ("gelu", 0, 0, 0),
    ("gelu_tfjs", 0, 0, 0),
    ("gelu_tanh", 0, 0, 0),
    ("thresholded_relu", 0.4, 0, 0),
    ("exp", 0, 0, 0),
]


def test_the_list_above_names_every_activation() -> None:
    # The device expands the CPU's one list (kernels/activation_list.h) over
    # the same scalar formulas; this test must cover each entry of it.
    listed = Path(__file__).resolve().parents[2] / "cpp" / "kernels" / "activation_list.h"
    names = set(re.findall(r'X\(k\w+, "(\w+)"\)', listed.read_text()))
    assert len(names) >= 19 and names == {a[0] for a in ACTIVATIONS}, names


@pytest.mark.parametrize("act, alpha, beta, gamma", ACTIVATIONS)
def test_every_activation_matches_cpu(act: str, alpha: float, beta: float, gamma: float) -> None:
    rng = np.random.default_rng(len(act))
    x = with_specials(rand(rng, 301, scale=4.0))
    x[100:120] = np.linspace(-30, 30, 20)  # softplus/exp thresholds and overflow
    got = CT.activation(act, x, alpha, beta, gamma)
    same(got, CPU.activation("generic", act, x, alpha, beta, gamma))


@pytest.mark.parametrize("kind", ["add", "sub", "mul", "max", "min", "mean"])
def test_broadcast_merges_match_cpu_op(kind: str) -> None:
    rng = np.random.default_rng(4)
    shapes = [(2, 3, 5), (2, 1, 5), (1, 3, 1)] if kind != "sub" else [(2, 3, 5), (1, 3, 1)]
    xs = [with_specials(rand(rng, *s)) for s in shapes]
    (want,) = run_op(kind, xs, isa="generic")
    same(CT.merge(kind, xs), want)


def test_batch_norm_as_channel_affine_matches_cpu_op() -> None:
    rng = np.random.default_rng(8)
    x = with_specials(rand(rng, 2, 4, 3, 6))
    mean, var = rand(rng, 4), np.abs(rand(rng, 4)) + 0.1
    gamma, beta = rand(rng, 4), rand(rng, 4)
    eps = 1e-3
    w = {"moving_mean": mean, "moving_variance": var, "gamma": gamma, "beta": beta}
    (want,) = run_op("batch_norm", [x], {"axis": 1, "epsilon": eps}, w, "generic")
    # The host-side preparation: scale and shift in float64, rounded once.
    scale = gamma.astype(np.float64) / np.sqrt(var.astype(np.float64) + eps)
    shift = beta.astype(np.float64) - mean.astype(np.float64) * scale
    got = CT.channel_affine(x, scale.astype(np.float32), shift.astype(np.float32), 4, 18)
    same(got, want)


@pytest.mark.parametrize("dtype", [np.float32, np.int32])
def test_rescaling_as_channel_affine_matches_cpu_op(dtype: type) -> None:
    x = (np.arange(2 * 3 * 4).reshape(2, 3, 4) - 7).astype(dtype)
    attrs = {"scale": [1 / 255, 2.0, 3.0, 0.1], "offset": [-0.5]}
    (want,) = run_op("scale_shift", [x], attrs, isa="generic")
    scale = np.array(attrs["scale"], np.float32)
    shift = np.full(4, -0.5, np.float32)
    same(CT.channel_affine(x, scale, shift, 4, 1), want)


@pytest.mark.parametrize("alpha_shape", [(3, 4, 5), (1, 1, 5), (3, 1, 1)])
def test_prelu_matches_cpu_op(alpha_shape: tuple) -> None:
    rng = np.random.default_rng(6)
    x, alpha = with_specials(rand(rng, 2, 3, 4, 5)), rand(rng, *alpha_shape)
    (want,) = run_op("prelu", [x], {}, {"alpha": alpha}, "generic")
    same(CT.prelu(x, alpha), want)


@pytest.mark.parametrize("cols", [1, 5, 31, 32, 33, 200, 1000])
@pytest.mark.parametrize("log", [False, True])
def test_softmax_matches_cpu_within_sum_order(cols: int, log: bool) -> None:
    # The device sums exp in a fixed tree (the CPU: left to right): a few ulps.
    rng = np.random.default_rng(cols)
    x = rand(rng, 4, cols, scale=5.0)
    same(CT.softmax(x, log), CPU.softmax("generic", x, log), exact=False, rtol=1e-6)


def test_softmax_nan_and_inf_rows() -> None:
    x = np.array([[1, np.nan, 2, 3], [np.inf, 1, 2, 3], [-np.inf, 0, 0, 0]], np.float32)
    for log in (False, True):
        same(CT.softmax(x, log), CPU.softmax("generic", x, log))


POOL_CASES = [
    # (n, (d, h, w), c, pool, stride, same)
    (1, (1, 1, 1), 1, (1, 1, 1), (1, 1, 1), False),
    (2, (1, 7, 9), 5, (1, 3, 2), (1, 2, 2), True),
    (1, (1, 1, 11), 3, (1, 1, 4), (1, 1, 3), True),
    (2, (3, 4, 5), 2, (2, 2, 2), (1, 2, 2), False),
]


@pytest.mark.parametrize("case", POOL_CASES)
@pytest.mark.parametrize("mode", ["max", "avg"])
def test_pool_matches_cpu_op(case: tuple, mode: str) -> None:
    n, spatial, c, pool, stride, same_pad = case
    rng = np.random.default_rng(sum(spatial) + c)
    x = with_specials(rand(rng, n, *spatial, c))
    # the CPU op's rank follows the non-trivial axes: 1D, 2D or 3D
    rank = 3 if spatial[0] > 1 else (2 if spatial[1] > 1 else 1)
    axes = slice(3 - rank, 3)
    attrs = {
        "mode": mode,
        "pool_size": list(pool[axes]),
        "strides": list(stride[axes]),
        "padding": "same" if same_pad else "valid",
    }
    xin = x.reshape(n, *spatial[axes], c)
    (want,) = run_op("pool", [xin], attrs, isa="generic")
    geo = [tf_geometry(s, k, st, 1, same_pad) for s, k, st in zip(spatial, pool, stride)]
    out = tuple(g[0] for g in geo)
    pads = tuple(g[1] for g in geo)
    got = CT.pool(x, mode == "max", pool, stride, pads, out)
    same(got.reshape(want.shape), want)


def test_pool_max_all_nan_window_gives_max_init() -> None:
    x = np.full((1, 1, 1, 4, 1), np.nan, np.float32)
    got = CT.pool(x, True, (1, 1, 2), (1, 1, 2), (0, 0, 0), (1, 1, 2), max_init=-np.inf)
    assert (got == -np.inf).all()


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize("channels_first", [False, True])
def test_global_pool_matches_cpu_op(mode: str, channels_first: bool) -> None:
    rng = np.random.default_rng(12)
    x = with_specials(rand(rng, 3, 7, 5))
    attrs = {"mode": mode, "channels_first": int(channels_first)}
    (want,) = run_op("global_pool", [x], attrs, isa="generic")
    same(CT.global_pool(x, mode == "max", channels_first), want)
