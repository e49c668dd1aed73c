"""The same row gives bitwise-identical output whatever batch it arrives in and
whatever the thread count (the core never splits a reduction across threads)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import tfjs_infer
from tfjs_infer import _core

FIXTURES = Path(__file__).resolve().parent / "fixtures"
ISAS = tfjs_infer.available_isas()


def _mlp(isa: str, threads: int) -> _core.CompiledModel:
    """An MLP 784-512-512-10 large enough for the core to use several threads."""
    rng = np.random.default_rng(7)
    g = _core.Graph()
    x = g.add_input("x", [None, 784], "float32")
    for i, (k, n, act) in enumerate([(784, 512, "relu"), (512, 512, "relu"), (512, 10, "softmax")]):
        w = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
        b = rng.standard_normal(n).astype(np.float32)
        (x,) = g.add_op("dense", f"d{i}", [x], {"activation": act}, {"kernel": w, "bias": b})
    g.set_outputs([x])
    return _core.CompiledModel(g, isa=isa, num_threads=threads)


@pytest.mark.parametrize("isa", ISAS)
def test_mlp_rows_identical_across_batches_and_threads(isa: str) -> None:
    x = np.random.default_rng(3).standard_normal((67, 784)).astype(np.float32)
    one = _mlp(isa, 1)
    two = _mlp(isa, 2)
    full = one.run([x])[0]
    np.testing.assert_array_equal(two.run([x])[0], full)
    for bs in (1, 2, 5, 32):
        for model in (one, two):
            parts = [model.run([x[i : i + bs]])[0] for i in range(0, len(x), bs)]
            np.testing.assert_array_equal(np.concatenate(parts), full)


@pytest.mark.parametrize(
    "case", ["converter/mlp_batchnorm", "converter/functional_2in_2out", "tfjs/dense_mlp"]
)
def test_fixture_models_identical_across_batches_and_threads(case: str) -> None:
    model = tfjs_infer.load_model(FIXTURES / case / "model.json")
    rng = np.random.default_rng(11)
    xs = [rng.standard_normal((23, *t.shape[1:])).astype(np.float32) for t in model.inputs]
    x = xs[0] if len(xs) == 1 else xs
    model.num_threads = 1
    ref = model.predict(x, batch_size=23)
    refs = ref if isinstance(ref, list) else [ref]
    for threads in (1, 2):
        model.num_threads = threads
        for bs in (1, 4, 23):
            got = model.predict(x, batch_size=bs)
            for g, r in zip(got if isinstance(got, list) else [got], refs):
                np.testing.assert_array_equal(g, r)


def test_repeated_calls_identical() -> None:
    model = tfjs_infer.load_model(tfjs_infer.examples.digits_path())
    x, _ = tfjs_infer.examples.digits_samples()
    first = model.predict(x)
    for _ in range(3):
        np.testing.assert_array_equal(model.predict(x), first)
