"""tfjs_infer.sample: drawing classes from probabilities for sequence generation."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

import tfjs_infer
from tfjs_infer import postprocess


def test_doctest() -> None:
    assert doctest.testmod(postprocess, verbose=False).failed == 0


def test_shapes_and_types() -> None:
    rng = np.random.default_rng(1)
    p = rng.random((4, 6, 9))
    assert isinstance(tfjs_infer.sample(p[0, 0], rng=rng), int)
    assert tfjs_infer.sample(p[:, -1], rng=rng).shape == (4,)
    out = tfjs_infer.sample(p, rng=rng)
    assert out.shape == (4, 6) and out.dtype == np.int64
    assert ((out >= 0) & (out < 9)).all()


def test_seeded_generator_is_reproducible() -> None:
    p = np.random.default_rng(2).random((50, 7))
    a = tfjs_infer.sample(p, 0.8, rng=np.random.default_rng(42))
    b = tfjs_infer.sample(p, 0.8, rng=np.random.default_rng(42))
    c = tfjs_infer.sample(p, 0.8, rng=42)  # an int seeds a Generator
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    # A row's draw depends only on its probabilities and its uniform number.
    np.testing.assert_array_equal(
        tfjs_infer.sample(p[:10], 0.8, rng=np.random.default_rng(42)), a[:10]
    )


def test_frequencies_follow_the_distribution() -> None:
    p = np.array([0.5, 0.0, 0.2, 0.3])
    rows = np.tile(p, (200_000, 1))
    draws = tfjs_infer.sample(rows, rng=np.random.default_rng(7))
    freq = np.bincount(draws, minlength=4) / len(draws)
    np.testing.assert_allclose(freq, p, atol=0.005)
    assert freq[1] == 0  # a zero-probability class is never drawn


def test_temperature_reshapes() -> None:
    p = np.array([0.6, 0.3, 0.1])
    rows = np.tile(p, (200_000, 1))
    for t in (0.5, 2.0):
        draws = tfjs_infer.sample(rows, temperature=t, rng=np.random.default_rng(3))
        want = p ** (1 / t) / (p ** (1 / t)).sum()
        np.testing.assert_allclose(np.bincount(draws, minlength=3) / len(draws), want, atol=0.005)
    # Unnormalized scores are renormalized per row.
    np.testing.assert_array_equal(
        tfjs_infer.sample(rows[:100] * 7, rng=5), tfjs_infer.sample(rows[:100], rng=5)
    )


def test_temperature_zero_is_greedy() -> None:
    p = np.array([[0.2, 0.5, 0.3], [0.4, 0.1, 0.4]])
    np.testing.assert_array_equal(tfjs_infer.sample(p, temperature=0), [1, 0])
    # A tiny temperature stays finite and picks the maximum.
    np.testing.assert_array_equal(tfjs_infer.sample(p[:1], temperature=1e-6, rng=0), [1])


@pytest.mark.parametrize(
    ("probs", "temperature"),
    [([0.5, -0.1], 1.0), ([0.5, np.nan], 1.0), ([0.0, 0.0], 1.0), ([0.5, 0.5], -1.0), (0.5, 1.0)],
)
def test_rejects_bad_input(probs: object, temperature: float) -> None:
    with pytest.raises(ValueError):
        tfjs_infer.sample(probs, temperature)
