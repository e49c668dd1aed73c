"""Shared checks for fixture cases: a folder holding a model file and an
io.json with the inputs and the reference outputs computed by real TF.js or
Keras (never by tfjs_infer). Family test files call these helpers.

io.json: {"inputs": [{"name", "shape", "dtype", "data"}], "outputs": [...],
"batch_size": int, optional "model_file" (default model.json)}.

Stateful models record a sequence of predict calls on one model instead:
{"calls": [{"reset_before": bool, "inputs": [...], "outputs": [...]}, ...],
"batch_size": int}; "reset_before" means reset_states() came first (see
check_calls).
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

import tfjs_infer
from tfjs_infer.io import read_model

FIXTURES = Path(__file__).resolve().parent / "fixtures"
RTOL = 1e-4
ATOL = 1e-5


def isas_under_test() -> list[str]:
    """Every instruction set this machine runs (generic, avx2, avx512, neon),
    narrowed by TFJS_INFER_TEST_ISAS="generic,avx2" when set (tools/mutation.py
    uses it to rerun one ISA); fixture suites parametrize over these."""
    isas = tfjs_infer.available_isas()
    wanted = os.environ.get("TFJS_INFER_TEST_ISAS", "").strip()
    if wanted:
        isas = [i for i in isas if i in {w.strip() for w in wanted.split(",")}]
    return isas


ISAS = isas_under_test()


def cpuid_leaves(name: str) -> list[tuple[int, int, int, int, int, int]]:
    """A recorded cpuid output's `LEAF SUBLEAF: EAX EBX ECX EDX` lines
    (tests/fixtures/cpuid/NAME) as (leaf, subleaf, eax, ebx, ecx, edx)."""
    rows = []
    for line in (FIXTURES / "cpuid" / name).read_text().splitlines():
        head, regs = line.split(":")
        leaf, sub = head.split()
        eax, ebx, ecx, edx = (int(r, 16) for r in regs.split())
        rows.append((int(leaf, 16), int(sub, 16), eax, ebx, ecx, edx))
    return rows


def case_dirs(*subdirs: str) -> list[Path]:
    """Every case folder (holding io.json) under tests/fixtures/<subdir>/."""
    out: list[Path] = []
    for sub in subdirs:
        root = FIXTURES / sub
        if root.is_dir():
            out += sorted(p for p in root.iterdir() if (p / "io.json").is_file())
    return out


def case_id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


@functools.cache
def read_io(case: Path) -> dict[str, Any]:
    return json.loads((case / "io.json").read_text(encoding="utf-8"))


def arrays(records: list[dict[str, Any]]) -> list[np.ndarray]:
    return [np.asarray(r["data"], dtype=np.dtype(r["dtype"])).reshape(r["shape"]) for r in records]


def model_path(case: Path) -> Path:
    return case / read_io(case).get("model_file", "model.json")


@functools.cache
def read_spec(path: Path) -> object:
    """The file read once (parsed topology + weights); every ISA compiles its
    own model from it, so a suite run under N ISAs reads and decodes once."""
    return read_model(path)


@functools.cache
def load_file(path: Path, isa: str | None = None) -> tfjs_infer.Model:
    """The model file compiled for `isa` (None: this CPU's best), from the spec
    read once."""
    return tfjs_infer.Model(read_spec(path), isa=isa)


def load(case: Path, isa: str | None = None) -> tfjs_infer.Model:
    return load_file(model_path(case), isa)


def as_list(got: Any, n: int) -> list[np.ndarray]:
    if isinstance(got, dict):
        got = list(got.values())
    if n == 1 and isinstance(got, np.ndarray):
        return [got]
    assert isinstance(got, (list, tuple)) and len(got) == n, (
        f"expected {n} outputs, got {type(got)}"
    )
    return [np.asarray(g) for g in got]


def check_case(case: Path, isa: str | None = None, refs_key: str = "outputs") -> None:
    """Predict the case's inputs and compare with its reference outputs."""
    check_model(load(case, isa), case, refs_key)


def check_model(model: tfjs_infer.Model, case: Path, refs_key: str = "outputs") -> None:
    """Compare an already loaded model (from a URL, bytes, a pickle...) with the
    case's references."""
    io = read_io(case)
    xs = arrays(io["inputs"])
    refs = arrays(io[refs_key])
    got = as_list(
        model.predict(xs[0] if len(xs) == 1 else xs, batch_size=io.get("batch_size", 32)), len(refs)
    )
    for i, (g, r) in enumerate(zip(got, refs)):
        what = f"case {case_id(case)}, output {i} ({io[refs_key][i].get('name')})"
        assert g.shape == r.shape, f"{what}: shape {g.shape}, reference {r.shape}"
        np.testing.assert_allclose(g, r, rtol=RTOL, atol=ATOL, err_msg=what)


def check_batch_invariance(case: Path) -> None:
    """Bitwise-identical outputs whatever the batch size."""
    io = read_io(case)
    xs = arrays(io["inputs"])
    n = len(io["outputs"])
    model = load(case)
    x = xs[0] if len(xs) == 1 else xs
    full = as_list(model.predict(x), n)
    small = as_list(model.predict(x, batch_size=3), n)
    for a, b in zip(full, small):
        np.testing.assert_array_equal(a, b)


def check_calls(
    case: Path, isa: str | None = None, num_threads: int | None = None
) -> list[list[np.ndarray]]:
    """Run the io.json "calls" in order on one freshly loaded model (stateful
    layers carry their states from call to call) and compare each with its
    reference. Returns what each call gave."""
    io = read_io(case)
    model = tfjs_infer.load_model(model_path(case), isa=isa, num_threads=num_threads)
    results = []
    for k, call in enumerate(io["calls"]):
        if call.get("reset_before"):
            model.reset_states()
        xs = arrays(call["inputs"])
        refs = arrays(call["outputs"])
        x = xs[0] if len(xs) == 1 else xs
        got = as_list(model.predict(x, batch_size=io.get("batch_size")), len(refs))
        for i, (g, r) in enumerate(zip(got, refs)):
            what = f"case {case_id(case)}, call {k}, output {i} ({call['outputs'][i].get('name')})"
            assert g.shape == r.shape, f"{what}: shape {g.shape}, reference {r.shape}"
            np.testing.assert_allclose(g, r, rtol=RTOL, atol=ATOL, err_msg=what)
        results.append(got)
    return results
