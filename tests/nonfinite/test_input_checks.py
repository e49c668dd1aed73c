"""predict's input checks: ranks (fixture-backed: what TF.js and Keras's
predict do with each shape), unexpected dict keys, and check_finite."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import tfjs_infer
from tfjs_infer.errors import InputShapeError, InputValueError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
RANK_ROOT = FIXTURES / "input_rank"


def _rank_trials() -> list[tuple[str, str, int]]:
    out = []
    for flavour in ("tfjs", "keras2", "keras3"):
        for folder in sorted((RANK_ROOT / flavour).iterdir()):
            trials = json.loads((folder / "trials.json").read_text(encoding="utf-8"))["trials"]
            out += [(flavour, folder.name, i) for i in range(len(trials))]
    return out


RANK_TRIALS = _rank_trials()


def _values(shape: list[int]) -> np.ndarray:
    """The inputs the fixture scripts fed: 0.25 * (i mod 7) - 0.75."""
    n = int(np.prod(shape))
    return (0.25 * (np.arange(n) % 7) - 0.75).astype(np.float32).reshape(shape)


@pytest.mark.parametrize(
    ("flavour", "name", "index"), RANK_TRIALS, ids=[f"{f}/{n}/{i}" for f, n, i in RANK_TRIALS]
)
def test_input_rank_as_the_framework(flavour: str, name: str, index: int) -> None:
    folder = RANK_ROOT / flavour / name
    record = json.loads((folder / "trials.json").read_text(encoding="utf-8"))
    trial = record["trials"][index]
    model = tfjs_infer.load_model(folder / record.get("model_file", "model.json"))
    x = _values(trial["shape"])
    if not trial["ok"]:
        with pytest.raises(InputShapeError, match=r"input 'x': expected shape") as info:
            model.predict(x)
        assert info.value.received == tuple(trial["shape"])
        return
    got = model.predict(x)
    ref = np.asarray(trial["output"], dtype=np.float32).reshape(trial["output_shape"])
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, rtol=1e-6)


def test_rank_trials_cover_both_rules() -> None:
    """The fixtures hold inputs each framework accepts and refuses."""
    for flavour in ("tfjs", "keras2", "keras3"):
        oks = {
            json.loads((RANK_ROOT / flavour / n / "trials.json").read_text())["trials"][i]["ok"]
            for f, n, i in RANK_TRIALS
            if f == flavour
        }
        assert oks == {True, False}, flavour


@pytest.fixture(scope="module")
def two_inputs() -> tfjs_infer.Model:
    return tfjs_infer.load_model(FIXTURES / "nonfinite" / "tfjs" / "merge_add" / "model.json")


@pytest.fixture(scope="module")
def mlp() -> tfjs_infer.Model:
    return tfjs_infer.load_model(FIXTURES / "nonfinite" / "tfjs" / "mlp" / "model.json")


def test_extra_dict_keys_are_named(two_inputs: tfjs_infer.Model) -> None:
    x = np.ones((2, 8), np.float32)
    with pytest.raises(InputShapeError, match=r"unexpected input key\(s\) \['in2', 'typo'\]"):
        two_inputs.predict({"in0": x, "in1": x, "in2": x, "typo": x})
    np.testing.assert_array_equal(two_inputs.predict({"in0": x, "in1": x}), 2 * x)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("batch_size", [None, 2])
def test_check_finite_names_input_and_first_index(
    mlp: tfjs_infer.Model, bad: float, batch_size: int | None
) -> None:
    x = np.linspace(-2, 2, 5 * 6, dtype=np.float32).reshape(5, 6)
    x[3, 4] = bad
    x[4, 0] = np.nan
    with pytest.raises(InputValueError, match=r"input 'in0' holds .* at index \(3, 4\)") as info:
        mlp.predict(x, batch_size=batch_size, check_finite=True)
    assert isinstance(info.value, ValueError)
    assert info.value.name == "in0" and info.value.index == (3, 4)
    assert "2 non-finite" in str(info.value)
    # Off (the default), the value propagates as in TF.js: that row is NaN.
    got = mlp.predict(x, batch_size=batch_size)
    assert np.isnan(got[3]).all() and np.isfinite(got[:3]).all()


def test_check_finite_passes_clean_inputs_unchanged(mlp: tfjs_infer.Model) -> None:
    x = np.linspace(-2, 2, 4 * 6, dtype=np.float32).reshape(4, 6)
    np.testing.assert_array_equal(mlp.predict(x, check_finite=True), mlp.predict(x))
    # Finite values whose sum overflows float32 are finite: no false alarm.
    big = np.full((2, 6), 3e38, np.float32)
    assert mlp.predict(big, check_finite=True).shape == (2, 5)


def test_check_finite_after_the_cast(mlp: tfjs_infer.Model) -> None:
    """A float64 value beyond float32's range is inf once cast: refused."""
    x = np.zeros((2, 6), np.float64)
    x[1, 2] = 1e300
    with np.errstate(over="ignore"), pytest.raises(InputValueError, match=r"inf at index \(1, 2\)"):
        mlp.predict(x, check_finite=True)


def test_check_finite_every_input(two_inputs: tfjs_infer.Model) -> None:
    a = np.ones((3, 8), np.float32)
    b = a.copy()
    b[2, 7] = -np.inf
    with pytest.raises(InputValueError, match=r"input 'in1' holds -inf at index \(2, 7\)"):
        two_inputs.predict([a, b], check_finite=True)
    with pytest.raises(InputValueError, match=r"input 'in1'"):
        two_inputs.predict({"in0": a, "in1": b}, check_finite=True)


@pytest.mark.parametrize("n", [1, 63, 64, 65, 200])
def test_first_nonfinite_finds_every_position(n: int) -> None:
    """The core's scan (blocks of 64): every position, every kind, and the
    extreme finite values it must let through."""
    from tfjs_infer import _core

    x = np.full(n, np.finfo(np.float32).max, np.float32)
    x[::3] = -0.0
    x[1::5] = np.float32(1e-45)  # subnormal
    assert _core.first_nonfinite(x) == -1
    for bad in (np.nan, np.inf, -np.inf):
        for i in {0, n // 2, n - 1}:
            y = x.copy()
            y[i] = bad
            y[-1] = bad
            assert _core.first_nonfinite(y) == i
