"""How convolutions split their GEMM across threads (ConvBase::split_by_filters):
by tiles of output pixels, or by filters where the call's rows are fewer than the
filters. Every split gives the bits of one thread at odd shapes, batches and 1, 2
and 3 threads; the forced kinds (TFJS_INFER_CONV_SPLIT=rows|cols|image, read once
per process) give them too, as does a small L2 block (TFJS_INFER_GEMM_L2_BLOCK:
weight-heavy images by filters). The pool's job trace shows the loops did run on
several threads, so a test cannot pass by staying on one."""

from __future__ import annotations

import hashlib
import os

import numpy as np
import pytest

from child_process import run_json_child
from tfjs_infer import _core
from thread_checks import assert_one_threads_bits

# (name, rank, spatial input, kernel, stride, padding, cin, cout): weight-heavy
# images (few pixels, many filters: filters at batch 1, tiles at larger
# batches), im2col (1 channel), implicit (3x3 'same'; two tiles per image in
# the second), in-place 1D windows.
CONVS = [
    ("conv1d_strided", 1, (40,), (7,), 3, "valid", 24, 67),
    ("conv1d_same", 1, (23,), (5,), 1, "same", 9, 33),
    ("conv2d_implicit", 2, (5, 6), (3, 3), 1, "same", 16, 97),
    ("conv2d_implicit_tiles", 2, (12, 12), (3, 3), 1, "same", 64, 16),
    ("conv2d_im2col", 2, (29, 27), (3, 3), 2, "valid", 1, 40),
]
BATCHES = [1, 2, 3, 7]


def _conv(case: tuple, threads: int) -> _core.CompiledModel:
    name, rank, spatial, kernel, stride, padding, cin, cout = case
    rng = np.random.default_rng(cin * 100 + cout)
    g = _core.Graph()
    x = g.add_input("x", [None, *spatial, cin], "float32")
    w = (rng.standard_normal((*kernel, cin, cout)) / np.sqrt(cin * np.prod(kernel))).astype(
        np.float32
    )
    b = rng.standard_normal(cout).astype(np.float32)
    attrs = {"strides": [stride] * rank, "padding": padding, "activation": "relu"}
    (y,) = g.add_op(f"conv{rank}d", name, [x], attrs, {"kernel": w, "bias": b})
    g.set_outputs([y])
    return _core.CompiledModel(g, num_threads=threads)


def _input(case: tuple) -> np.ndarray:
    _, _, spatial, _, _, _, cin, _ = case
    return (
        np.random.default_rng(3).standard_normal((max(BATCHES), *spatial, cin)).astype(np.float32)
    )


def _numpy_conv1d_valid(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int) -> np.ndarray:
    """A float64 Conv1D ('valid') with ReLU, for the sanity check."""
    kw = w.shape[0]
    out = (x.shape[1] - kw) // stride + 1
    windows = np.stack([x[:, i * stride : i * stride + kw, :] for i in range(out)], axis=1)
    y = np.einsum("bokc,kcf->bof", windows.astype(np.float64), w.astype(np.float64)) + b
    return np.maximum(y, 0)


@pytest.mark.parametrize("case", CONVS, ids=[c[0] for c in CONVS])
def test_conv_split_gives_one_threads_bits(case: tuple) -> None:
    assert_one_threads_bits(lambda threads: _conv(case, threads), _input(case), BATCHES, "batch")


def test_conv1d_reference() -> None:
    """The strided Conv1D case against numpy (the bits above are also right)."""
    case = CONVS[0]
    rng = np.random.default_rng(case[6] * 100 + case[7])
    w = (rng.standard_normal((7, 24, 67)) / np.sqrt(24 * 7)).astype(np.float32)
    b = rng.standard_normal(67).astype(np.float32)
    x = _input(case)
    np.testing.assert_allclose(
        _conv(case, 2).run([x])[0], _numpy_conv1d_valid(x, w, b, 3), rtol=1e-4, atol=1e-4
    )


# Each forced split in its own process (the variable is read once per process).
CHILD = r"""
import hashlib, json, sys
sys.path.insert(0, sys.argv[1])
import test_conv_split as t
from thread_checks import traced_run
out = {}
for case in t.CONVS:
    x = t._input(case)
    for threads in (2, 3):
        m = t._conv(case, threads)
        for batch in t.BATCHES:
            y, split = traced_run(m, x[:batch])
            out[f"{case[0]},{threads},{batch}"] = [hashlib.sha256(y.tobytes()).hexdigest(), split]
print(json.dumps(out))
"""


# The weight-heavy strided Conv1D (12 pixels per image, 67 filters) at batch 7
# on 2 threads: tiles (one per image: 7 tasks) under the rule, as its B fits the
# GEMM's L2 block; by filters (fewer tasks than images) where it does not.
TASKS_CHILD = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import test_conv_split as t
from thread_checks import traced_jobs
x = t._input(t.CONVS[0])
_, jobs = traced_jobs(t._conv(t.CONVS[0], 2), x[:7])
print(json.dumps([j["tasks"] for j in jobs]))
"""


@pytest.mark.parametrize("l2_block,by_tiles", [(None, True), ("16K", False)])
def test_weight_heavy_conv_splits_by_tiles_when_b_fits_l2(l2_block: str | None, by_tiles: bool):
    env = dict(os.environ)
    env.pop("TFJS_INFER_GEMM_L2_BLOCK", None)
    env.pop("TFJS_INFER_CONV_SPLIT", None)
    if l2_block:
        env["TFJS_INFER_GEMM_L2_BLOCK"] = l2_block
    (tasks,) = run_json_child(TASKS_CHILD, env, timeout=120)
    assert (tasks == 7) == by_tiles, tasks


@pytest.mark.parametrize(
    "env",
    [
        {"TFJS_INFER_CONV_SPLIT": "rows"},
        {"TFJS_INFER_CONV_SPLIT": "cols"},
        {"TFJS_INFER_CONV_SPLIT": "image"},
        {"TFJS_INFER_GEMM_L2_BLOCK": "16K"},
    ],
)
def test_forced_conv_splits_give_one_threads_bits(env: dict[str, str]) -> None:
    runs = run_json_child(CHILD, {**os.environ, **env}, timeout=300)
    several = False
    for case in CONVS:
        x = _input(case)
        one = _conv(case, 1)
        for batch in BATCHES:
            ref = hashlib.sha256(one.run([x[:batch]])[0].tobytes()).hexdigest()
            for threads in (2, 3):
                digest, split_ran = runs[f"{case[0]},{threads},{batch}"]
                several |= split_ran
                assert digest == ref, (env, case[0], threads, batch)
    assert several
