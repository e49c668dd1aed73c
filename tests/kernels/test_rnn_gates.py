"""Recurrent kernels of every built ISA against a float64 numpy reference.

Each gate kind of RnnGateArgs (cpp/kernels/kernel_args.h) is called directly
through tfjs_infer._core._testing.rnn_gates: SimpleRNN, LSTM, GRU with
reset_after=True (one fused step) and GRU with reset_after=False (the z/r step,
then the candidate step). The reference is the documented gate equations,
written out here in float64: an op-level reference, not a fixture. Sizes are odd
(units not a multiple of any vector width, so every kernel's tail is reached),
rows sit at padded leading dimensions, and the hook fails if a kernel writes
into the padding. The packed recurrent GEMV is checked too: within rounding of
numpy and bit for bit equal to the same ISA's GEMM on that row.
"""

from __future__ import annotations

import numpy as np
import pytest

from fixture_utils import ISAS
from tfjs_infer import _core

T = _core._testing
UNITS = [1, 3, 7, 13, 37]
ROWS = 3
# float32 gate math after float64 activations (generic) or the SIMD
# activations' stated bounds: a few ulps per operation, far below any wrong gate.
RTOL, ATOL = 2e-5, 2e-6

# (act, ract, ract_alpha, ract_beta): the Keras defaults, TF.js/Keras 2
# hard_sigmoid, Keras 3 hard_sigmoid, and a relu cell.
ACTS = [
    ("tanh", "sigmoid", 0.0, 0.0),
    ("tanh", "hard_sigmoid", 0.2, 0.5),
    ("tanh", "hard_sigmoid", 1.0 / 6.0, 0.5),
    ("relu", "sigmoid", 0.0, 0.0),
]


def _act(name: str, x: np.ndarray, alpha: float = 0.0, beta: float = 0.0) -> np.ndarray:
    x = x.astype(np.float64)
    if name == "tanh":
        return np.tanh(x)
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-x))
    if name == "hard_sigmoid":
        return np.clip(np.float64(np.float32(alpha)) * x + np.float64(np.float32(beta)), 0.0, 1.0)
    if name == "relu":
        return np.maximum(x, 0.0)
    raise AssertionError(name)


def _operands(rng: np.random.Generator, u: int, width: int) -> dict[str, np.ndarray]:
    def rand(cols: int, scale: float = 2.0) -> np.ndarray:
        return (rng.standard_normal((ROWS, cols)) * scale).astype(np.float32)

    return {
        "x": rand(3 * u),
        "pre": rand(width * u),
        "h": rand(u, 0.8),
        "c": rand(u),
        "aux": rand(u),
    }


def _call(isa: str, kind: str, ops: dict[str, np.ndarray], acts: tuple) -> dict[str, np.ndarray]:
    act, ract, ra, rb = acts
    got = T.rnn_gates(
        isa, kind, ops["x"], ops["pre"], ops["h"], ops["c"], ops["aux"], act, ract, ra, rb
    )
    return dict(zip(("x", "pre", "h", "c", "aux"), got))


def _close(got: np.ndarray, want: np.ndarray, what: str) -> None:
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL, err_msg=what)


@pytest.mark.parametrize("acts", ACTS, ids=lambda a: f"{a[0]}-{a[1]}{a[2]:.3g}")
@pytest.mark.parametrize("units", UNITS)
@pytest.mark.parametrize("isa", ISAS)
def test_simple_rnn(isa: str, units: int, acts: tuple) -> None:
    ops = _operands(np.random.default_rng(units), units, 1)
    got = _call(isa, "simple", ops, acts)
    _close(got["h"], _act(acts[0], ops["pre"]), f"{isa} simple h")


@pytest.mark.parametrize("acts", ACTS, ids=lambda a: f"{a[0]}-{a[1]}{a[2]:.3g}")
@pytest.mark.parametrize("units", UNITS)
@pytest.mark.parametrize("isa", ISAS)
def test_lstm(isa: str, units: int, acts: tuple) -> None:
    act, ract, ra, rb = acts
    u = units
    ops = _operands(np.random.default_rng(100 + units), u, 4)
    pre = ops["pre"].astype(np.float64)
    i = _act(ract, pre[:, :u], ra, rb)
    f = _act(ract, pre[:, u : 2 * u], ra, rb)
    g = _act(act, pre[:, 2 * u : 3 * u])
    o = _act(ract, pre[:, 3 * u :], ra, rb)
    c = f * ops["c"] + i * g
    got = _call(isa, "lstm", ops, acts)
    _close(got["c"], c, f"{isa} lstm c")
    _close(got["h"], o * _act(act, c), f"{isa} lstm h")


@pytest.mark.parametrize("acts", ACTS, ids=lambda a: f"{a[0]}-{a[1]}{a[2]:.3g}")
@pytest.mark.parametrize("units", UNITS)
@pytest.mark.parametrize("isa", ISAS)
def test_gru_reset_after(isa: str, units: int, acts: tuple) -> None:
    """Keras 2/3 GRU default (and CuDNN's): the reset gate multiplies the
    recurrent projection h U_h + b_h, after the product."""
    act, ract, ra, rb = acts
    u = units
    ops = _operands(np.random.default_rng(200 + units), u, 3)
    x, pre, h = (ops[k].astype(np.float64) for k in ("x", "pre", "h"))
    z = _act(ract, x[:, :u] + pre[:, :u], ra, rb)
    r = _act(ract, x[:, u : 2 * u] + pre[:, u : 2 * u], ra, rb)
    hh = _act(act, x[:, 2 * u :] + r * pre[:, 2 * u :])
    got = _call(isa, "gru_reset_after", ops, acts)
    _close(got["h"], z * h + (1.0 - z) * hh, f"{isa} gru reset_after h")
    np.testing.assert_array_equal(got["pre"], ops["pre"], err_msg="pre is read-only here")


@pytest.mark.parametrize("acts", ACTS, ids=lambda a: f"{a[0]}-{a[1]}{a[2]:.3g}")
@pytest.mark.parametrize("units", UNITS)
@pytest.mark.parametrize("isa", ISAS)
def test_gru_reset_before(isa: str, units: int, acts: tuple) -> None:
    """TF.js GRU and Keras reset_after=False: z and r * h first (gru_zr), then
    the candidate from (r * h) U_h (gru_h) blends with the old state."""
    act, ract, ra, rb = acts
    u = units
    ops = _operands(np.random.default_rng(300 + units), u, 2)
    pre, h = ops["pre"].astype(np.float64), ops["h"].astype(np.float64)
    z = _act(ract, pre[:, :u], ra, rb)
    rh = _act(ract, pre[:, u:], ra, rb) * h
    got = _call(isa, "gru_zr", ops, acts)
    _close(got["pre"][:, :u], z, f"{isa} gru_zr z")
    _close(got["aux"], rh, f"{isa} gru_zr r*h")
    np.testing.assert_array_equal(got["h"], ops["h"], err_msg="gru_zr must not write h")

    cand = _operands(np.random.default_rng(400 + units), u, 1)
    cand["aux"] = got["pre"][:, :u].copy()  # z from the first step
    pre_h = cand["pre"].astype(np.float64)
    zf = cand["aux"].astype(np.float64)
    want = zf * cand["h"] + (1.0 - zf) * _act(act, pre_h)
    _close(_call(isa, "gru_h", cand, acts)["h"], want, f"{isa} gru_h h")


@pytest.mark.parametrize("isa", ISAS)
def test_gates_ignore_batch_rows(isa: str) -> None:
    """A row's result does not depend on the other rows (batch invariance)."""
    acts = ACTS[0]
    ops = _operands(np.random.default_rng(7), 13, 4)
    full = _call(isa, "lstm", ops, acts)
    one = _call(isa, "lstm", {k: v[1:2] for k, v in ops.items()}, acts)
    np.testing.assert_array_equal(full["h"][1:2], one["h"])
    np.testing.assert_array_equal(full["c"][1:2], one["c"])


@pytest.mark.parametrize("k,n", [(1, 1), (5, 3), (13, 37), (64, 9), (33, 100)])
@pytest.mark.parametrize("isa", ISAS)
def test_rnn_gemv(isa: str, k: int, n: int) -> None:
    rng = np.random.default_rng(k * 1000 + n)
    x = rng.standard_normal(k).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    res = rng.standard_normal(n).astype(np.float32)
    got = T.rnn_gemv(isa, x, b, bias, res)
    want = x.astype(np.float64) @ b.astype(np.float64) + bias + res
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.sqrt(k))
    gemm = T.gemm(isa, x[None, :], b, bias=bias, residual=res[None, :])
    np.testing.assert_array_equal(got, gemm[0], err_msg="GEMV must equal the GEMM's row bits")
    plain = T.rnn_gemv(isa, x, b)
    np.testing.assert_allclose(plain, x.astype(np.float64) @ b, rtol=1e-5, atol=1e-5 * np.sqrt(k))


def test_hook_rejects_bad_shapes() -> None:
    ops = _operands(np.random.default_rng(0), 5, 4)
    with pytest.raises(ValueError, match="pre must be"):
        T.rnn_gates("generic", "lstm", ops["x"], ops["pre"][:, :7], ops["h"], ops["c"], ops["aux"])
    with pytest.raises(ValueError, match="unknown gate kind"):
        T.rnn_gates("generic", "peephole", ops["x"], ops["pre"], ops["h"], ops["c"], ops["aux"])


SIMD_ISAS = [i for i in ISAS if i != "generic"]


def _gate_inputs(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    """Pre-activations over every range the gates' e^x treats apart: tanh's
    polynomial (|x| < 0.625) and saturation (|x| >= 9), sigmoid's fast lanes
    (|x| <= 80) and those past it (subnormal and zero e^-|x|), the borders,
    +-inf, NaN and -0."""
    x = (rng.standard_normal((rows, cols)) * 4).astype(np.float32)
    special = np.array(
        [
            0.625,
            -0.625,
            0.62499994,
            9.0,
            -9.0,
            80.0,
            -80.0,
            80.00001,
            -80.00001,
            87.3,
            -87.4,
            -90.0,
            -103.0,
            -104.5,
            -150.0,
            200.0,
            np.inf,
            -np.inf,
            np.nan,
            -0.0,
            0.0,
            1e-30,
        ],
        np.float32,
    )
    flat = x.reshape(-1)
    copies = max(1, min(3, flat.size // special.size))
    take = min(flat.size, special.size * copies)
    flat[rng.choice(flat.size, take, replace=False)] = np.tile(special, copies)[:take]
    return x


@pytest.mark.parametrize("units", [16, 29, 37, 60, 128])
@pytest.mark.parametrize("isa", SIMD_ISAS)
def test_lstm_gates_equal_the_activation_kernels_bitwise(isa: str, units: int) -> None:
    """The gate kernels' tanh and sigmoid (a cheaper e^x where the argument
    allows, in groups of vectors: rnn_simd.h rnn_gates, vec_pair.h) give the
    activation kernels' bits on every lane, and the cell update is f c + i g,
    then o tanh(c), in float32. Units by group (AVX-512 / AVX2): 16 one vector /
    a pair, 29 a pair with a tail past its first vector / a group of four, 37
    one vector / one vector, 60 a group of four with a tail in its second pair /
    a group of four, 128 whole groups of four."""
    u = units
    rng = np.random.default_rng(units)
    ops = _operands(rng, u, 4)
    ops["pre"] = _gate_inputs(rng, ROWS, 4 * u)
    ops["c"] = _gate_inputs(rng, ROWS, u)
    ops["c"][np.isnan(ops["c"])] = 1.0  # one NaN source per lane keeps its payload unambiguous
    pre = ops["pre"]

    def act(kind: str, v: np.ndarray) -> np.ndarray:
        return np.asarray(T.activation(isa, kind, np.ascontiguousarray(v)))

    i, f, o = (act("sigmoid", pre[:, k * u : (k + 1) * u]) for k in (0, 1, 3))
    g = act("tanh", pre[:, 2 * u : 3 * u])
    with np.errstate(invalid="ignore", over="ignore"):
        c = f * ops["c"] + i * g
        h = o * act("tanh", c)
    got = _call(isa, "lstm", ops, ACTS[0])
    np.testing.assert_array_equal(got["c"].view(np.uint32), c.view(np.uint32))
    np.testing.assert_array_equal(got["h"].view(np.uint32), h.view(np.uint32))


@pytest.mark.parametrize("isa", SIMD_ISAS)
def test_simple_rnn_tanh_equals_the_activation_kernel_bitwise(isa: str) -> None:
    pre = _gate_inputs(np.random.default_rng(5), ROWS, 53)
    ops = _operands(np.random.default_rng(6), 53, 1)
    ops["pre"] = pre
    got = _call(isa, "simple", ops, ACTS[0])["h"]
    want = np.asarray(T.activation(isa, "tanh", pre))
    np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))
