"""The intermediate-output fixture cases (tests/fixtures/intermediate/): a
model, its inputs, and layer outputs computed by real TF.js or Keras."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import numpy as np

import tfjs_infer

ROOT = Path(__file__).resolve().parents[1] / "fixtures" / "intermediate"
# |ours - reference| <= ATOL + RTOL * max|reference| per layer output. Deep
# models reorder float sums (fused BatchNorm, GEMM blocking) against TF.js's
# and Keras's kernels; 1e-4 of a tensor's range is far below any real bug.
RTOL = 1e-4
ATOL = 1e-5


def case_names() -> list[str]:
    return sorted(p.name for p in ROOT.iterdir() if (p / "case.json").is_file())


@functools.cache
def case(name: str) -> dict[str, Any]:
    return json.loads((ROOT / name / "case.json").read_text(encoding="utf-8"))


@functools.cache
def model(name: str) -> tfjs_infer.Model:
    return tfjs_infer.load_model(ROOT / name / case(name)["model_file"])


def inputs(name: str) -> list[np.ndarray]:
    return [np.load(ROOT / name / f) for f in case(name)["inputs"]]


def x(name: str) -> Any:
    xs = inputs(name)
    return xs[0] if len(xs) == 1 else xs


@functools.cache
def reference(name: str) -> dict[str, np.ndarray]:
    with np.load(ROOT / name / case(name)["reference"]) as z:
        return {k: z[k] for k in z.files}


def assert_close(got: np.ndarray, ref: np.ndarray, what: str) -> None:
    got = np.asarray(got)
    assert got.shape == ref.shape, f"{what}: shape {got.shape}, reference {ref.shape}"
    err = float(np.max(np.abs(got.astype(np.float64) - ref))) if ref.size else 0.0
    bound = ATOL + RTOL * float(np.max(np.abs(ref))) if ref.size else 0.0
    assert err <= bound, f"{what}: max abs error {err:.3g} > {bound:.3g}"
