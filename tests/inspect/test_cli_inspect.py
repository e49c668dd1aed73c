"""tfjs-infer layers / diff against dumps made by real TF.js and Keras."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from intermediate_cases import ROOT, case, reference

from tfjs_infer.cli import main

CASES = ["rnn_stack_tfjs", "nested_tm_keras", "multi_output_tfjs", "mobilenet_v2_keras"]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _args(name: str) -> list[str]:
    folder = ROOT / name
    return [
        str(folder / case(name)["model_file"]),
        *(str(folder / f) for f in case(name)["inputs"]),
    ]


@pytest.mark.parametrize("name", CASES)
def test_diff_against_the_reference_dump(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    ref = ROOT / name / "reference.npz"
    code, out, _ = run(["diff", *_args(name), "--reference", str(ref)], capsys)
    assert code == 0, out
    assert f"all {len(reference(name))} compared layer outputs match" in out


def test_diff_names_the_first_divergent_layer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A reference with two layers off: the earlier one in topological order
    is named, with its error."""
    name = "nested_tm_tfjs"
    ref = dict(reference(name))
    ref["sequential_3/dense_hidden"] = ref["sequential_3/dense_hidden"] + 0.5
    ref["sequential_1/feature_model/dw_bn"] = ref["sequential_1/feature_model/dw_bn"] * 1.01
    bad = tmp_path / "bad.npz"
    np.savez(bad, **ref)
    code, out, _ = run(["diff", *_args(name), "--reference", str(bad)], capsys)
    assert code == 1
    assert "first divergence: sequential_1/feature_model/dw_bn" in out
    assert "sequential_3/dense_hidden" in out and out.count("DIVERGES") >= 2
    code, out, _ = run(["diff", *_args(name), "--reference", str(bad), "--json"], capsys)
    doc = json.loads(out)
    assert code == 1 and doc["first_divergence"] == "sequential_1/feature_model/dw_bn"
    hidden = next(r for r in doc["layers"] if r["name"] == "sequential_3/dense_hidden")
    assert abs(hidden["max_abs"] - 0.5) < 1e-5


def test_layers_dump_round_trips_through_diff(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = "rnn_stack_tfjs"
    out_file = tmp_path / "acts.npz"
    code, _, err = run(["layers", *_args(name), "--out", str(out_file)], capsys)
    assert code == 0 and "layer outputs" in err
    with np.load(out_file) as z:
        assert set(z.files) == set(reference(name))
        for k in z.files:
            np.testing.assert_allclose(z[k], reference(name)[k], rtol=1e-4, atol=1e-5)
    code, _, _ = run(
        ["layers", *_args(name), "--layer", "lstm:1", "--layer", "gru", "--out", str(out_file)],
        capsys,
    )
    with np.load(out_file) as z:
        assert z.files == ["lstm:1", "gru"]


def test_layers_table_and_errors(capsys: pytest.CaptureFixture[str]) -> None:
    name = "nested_tm_tfjs"
    code, out, _ = run(["layers", _args(name)[0]], capsys)
    assert code == 0
    assert "sequential_1/feature_model/conv1_bn" in out and "BatchNormalization" in out
    code, out, _ = run(["layers", *_args(name), "--layer", "sequential_3/dense_out"], capsys)
    assert code == 0 and out.startswith("sequential_3/dense_out") and "(3, 4)" in out
    assert "min 0" in out and "max " in out  # softmax probabilities
    code, _, err = run(["layers", *_args(name), "--layer", "conv1"], capsys)
    assert code == 2 and "sequential_1/feature_model/conv1" in err
    code, _, err = run(["diff", *_args(name), "--reference", str(ROOT / "nope.npz")], capsys)
    assert code == 2 and "nope.npz" in err


def test_as_a_command() -> None:
    name = "multi_output_keras"
    ref = str(ROOT / name / "reference.npz")
    done = subprocess.run(
        [sys.executable, "-m", "tfjs_infer", "diff", *_args(name), "--reference", ref],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
