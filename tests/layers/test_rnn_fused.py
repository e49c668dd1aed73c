"""The rnn op's two ways of computing a step's pre-activations, each against
real TF.js: LSTM and SimpleRNN cells with at most a quarter as many input
features as units run [x_t | h] . [W; U] + b as one product per step (the
"fused" step); the others project x W + b for all steps first and add h U per
step. TFJS_INFER_RNN_FUSED=0 / 1 (read when a model is loaded) forces either,
so both run every fixture whatever its shape. Each must give a row the same
bits at every batch size and thread count."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_rnn_engine import _model
from test_rnn_fixtures import PLAIN, STATEFUL

import tfjs_infer
from fixture_utils import (
    ISAS,
    arrays,
    as_list,
    case_id,
    check_calls,
    check_case,
    model_path,
    read_io,
)

FORCED = ["0", "1"]


@pytest.fixture(params=FORCED, ids=lambda v: f"fused={v}")
def fused(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("TFJS_INFER_RNN_FUSED", request.param)
    return request.param


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("case", PLAIN, ids=case_id)
def test_tfjs_fixtures_either_way(case: Path, isa: str, fused: str) -> None:
    check_case(case, isa=isa)


@pytest.mark.parametrize("case", STATEFUL, ids=case_id)
def test_stateful_fixtures_either_way(case: Path, fused: str) -> None:
    check_calls(case)


@pytest.mark.parametrize("case", PLAIN, ids=case_id)
def test_bitwise_across_batch_sizes_and_threads_either_way(case: Path, fused: str) -> None:
    io = read_io(case)
    xs = arrays(io["inputs"])
    x = xs[0] if len(xs) == 1 else xs
    n = len(io["outputs"])
    ref = as_list(tfjs_infer.load_model(model_path(case)).predict(x), n)
    for bs, threads in ((1, 1), (2, 2), (3, 1), (5, 2)):
        m = tfjs_infer.load_model(model_path(case), num_threads=threads)
        for a, b in zip(ref, as_list(m.predict(x, batch_size=bs), n)):
            np.testing.assert_array_equal(a, b, err_msg=f"batch_size={bs}, threads={threads}")


@pytest.mark.parametrize("cls", ["LSTM", "SimpleRNN"])
@pytest.mark.parametrize(
    ("feats", "units", "fused_by_rule"),
    [(4, 16, True), (8, 32, True), (9, 32, False), (16, 16, False)],
)
def test_rule_fuses_when_features_at_most_a_quarter_of_units(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cls: str,
    feats: int,
    units: int,
    fused_by_rule: bool,
) -> None:
    path = _model(tmp_path, cls, units, 9, feats, return_sequences=True)
    x = np.random.default_rng(2).uniform(-1, 1, (5, 9, feats)).astype(np.float32)
    monkeypatch.delenv("TFJS_INFER_RNN_FUSED", raising=False)
    default = tfjs_infer.load_model(path).predict(x)
    forced = {}
    for v in FORCED:
        monkeypatch.setenv("TFJS_INFER_RNN_FUSED", v)
        forced[v] = tfjs_infer.load_model(path).predict(x)
    # The two orders of summation round differently (which tells them apart)
    # and both stay within float32 rounding of each other.
    assert not np.array_equal(forced["0"], forced["1"])
    np.testing.assert_allclose(forced["0"], forced["1"], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(default, forced["1" if fused_by_rule else "0"])


def _weights(cls: str, units: int, feats: int) -> dict[str, np.ndarray]:
    """The weights test_rnn_engine._model writes (same generator, same order)."""
    gates = {"LSTM": 4, "SimpleRNN": 1}[cls]
    rng = np.random.default_rng(0)
    w = {
        "kernel": rng.uniform(-1, 1, (feats, gates * units)) * np.sqrt(3 / feats),
        "recurrent_kernel": rng.uniform(-1, 1, (units, gates * units)) * np.sqrt(3 / units),
        "bias": rng.uniform(-0.5, 0.5, gates * units),
    }
    return {k: v.astype(np.float32).astype(np.float64) for k, v in w.items()}


def _reference(cls: str, x: np.ndarray, w: dict[str, np.ndarray], units: int) -> np.ndarray:
    """The last state in float64; a step whose features are all 0 is masked
    (the states carry over it)."""
    n, steps, _ = x.shape
    h = np.zeros((n, units))
    c = np.zeros((n, units))
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    for t in range(steps):
        xt = x[:, t].astype(np.float64)
        z = xt @ w["kernel"] + h @ w["recurrent_kernel"] + w["bias"]
        keep = np.any(xt != 0, axis=1)[:, None]
        if cls == "LSTM":
            i, f, g, o = np.split(z, 4, axis=1)
            c_new = sig(f) * c + sig(i) * np.tanh(g)
            h_new = sig(o) * np.tanh(c_new)
            c = np.where(keep, c_new, c)
        else:
            h_new = np.tanh(z)
        h = np.where(keep, h_new, h)
    return h


@pytest.mark.parametrize("cls", ["LSTM", "SimpleRNN"])
@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("fused", FORCED)
def test_both_ways_against_float64(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cls: str, isa: str, fused: str
) -> None:
    # Ragged sizes (features and units off every vector width), masked steps
    # and a row masked everywhere, the last state only; batch sizes that cut
    # the rows into GEMV (1 row) and GEMM blocks.
    feats, units, steps = 5, 19, 13
    path = _model(tmp_path, cls, units, steps, feats)
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, (11, steps, feats)).astype(np.float32)
    x[rng.random((11, steps)) < 0.25] = 0.0
    x[4] = 0.0
    monkeypatch.setenv("TFJS_INFER_RNN_FUSED", fused)
    model = tfjs_infer.load_model(path, isa=isa)
    got = model.predict(x)
    ref = _reference(cls, x, _weights(cls, units, feats), units)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(model.predict(x, batch_size=1), got)
    np.testing.assert_array_equal(model.predict(x, batch_size=4), got)
