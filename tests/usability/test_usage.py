"""The README's usage section is executed: it must equal examples/usage.py, which runs here.

The expected top-3 classes come from Keras's own probabilities stored with the
bundled example (samples.npz, ``keras_probs``), not from tfjs_infer.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np

import tfjs_infer as ti

ROOT = Path(__file__).resolve().parents[2]
USAGE = ROOT / "examples" / "usage.py"
README = ROOT / "README.md"
START, END = "<!-- usage:start -->", "<!-- usage:end -->"


def readme_usage_block() -> str:
    """The code between the usage markers of README.md, without its ``` fences."""
    text = README.read_text(encoding="utf-8")
    assert START in text and END in text, (
        f"README.md must hold the usage example between {START} and {END} "
        "(a copy of examples/usage.py in a ```python block)"
    )
    block = text[text.index(START) + len(START) : text.index(END)].strip("\n").splitlines()
    assert block and block[0].strip() == "```python" and block[-1].strip() == "```", (
        "the README usage block must be one ```python fenced block"
    )
    return "\n".join(block[1:-1]) + "\n"


def test_readme_usage_equals_examples_usage() -> None:
    assert readme_usage_block() == USAGE.read_text(encoding="utf-8"), (
        "README.md's usage block and examples/usage.py differ: paste one into the other"
    )


def test_usage_example_runs_and_prints_what_keras_predicted() -> None:
    ast.parse(USAGE.read_text(encoding="utf-8"))
    proc = subprocess.run(
        [sys.executable, str(USAGE)], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    with np.load(Path(ti.examples.__file__).parent / "digits" / "samples.npz") as data:
        keras_probs = data["keras_probs"]
    labels = ti.examples.digits_info()["labels"]
    keras_top3 = [labels[i] for i in np.argsort(-keras_probs[0], kind="stable")[:3]]
    first = out.splitlines()[0]
    assert first.startswith(repr(keras_top3)), (first, keras_top3)
    assert "TensorInfo(name='pixels', shape=(None, 64), dtype='float32')" in out
    assert 'Model: "' in out and "Total params: 4,810" in out


def test_docstring_examples_across_the_package() -> None:
    """Every ``>>>`` example in the user-facing modules runs and prints what it shows."""
    import doctest
    import importlib

    attempted = 0
    for name in (
        "tfjs_infer",
        "tfjs_infer.model",
        "tfjs_infer._predict",
        "tfjs_infer._presentation",
        "tfjs_infer.inspect",
        "tfjs_infer._loading",
        "tfjs_infer.postprocess",
        "tfjs_infer.io.sidecar",
    ):
        module = importlib.import_module(name)
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0, f"{name}: {result.failed} docstring example(s) failed"
        attempted += result.attempted
    assert attempted >= 25
