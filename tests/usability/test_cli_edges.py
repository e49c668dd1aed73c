"""The rough edges of the tfjs-infer command found in issue #16, one test each.

The command runs in process (tfjs_infer.cli.main) with its output captured;
expected class indices come from the fixtures' TF.js reference outputs.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import tfjs_infer as ti
from fixture_utils import FIXTURES, arrays, read_io
from tfjs_infer.cli import build_parser, main

TM = FIXTURES / "tfjs" / "topo_tm_style"  # softmax over 3 classes, no labels
TWO = FIXTURES / "tfjs" / "topo_two_in_two_out"
DIGITS = ti.examples.digits_path().parent


def run(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    status = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


def test_missing_labels_file_is_a_one_line_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    np.save(tmp_path / "x.npy", arrays(read_io(TM)["inputs"])[0])
    missing = tmp_path / "nope.txt"
    status, _, err = run(capsys, "predict", TM, tmp_path / "x.npy", "--labels-file", missing)
    assert status == 2
    assert (
        err.strip()
        == f"tfjs-infer: error: --labels-file {missing}: cannot read it (No such file or directory)"
    )
    (tmp_path / "bad.json").write_text("{")
    status, _, err = run(
        capsys, "predict", TM, tmp_path / "x.npy", "--labels-file", tmp_path / "bad.json"
    )
    assert status == 2 and "bad.json: not valid JSON" in err


def _help(*command: str) -> str:
    parser = build_parser()
    if not command:
        return parser.format_help()
    sub = next(a for a in parser._actions if a.dest == "command")
    return sub.choices[command[0]].format_help()  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("command", "option"),
    [
        ("predict", "--isa"),
        ("predict", "--batch-size"),
        ("predict", "--threads"),
        ("bench", "--repeats"),
        ("bench", "--warmup"),
        ("bench", "--max-seconds"),
        ("bench", "--batch-size"),
        ("summary", "--line-length"),
        ("demo", "--batch-size"),
    ],
)
def test_every_option_has_help(command: str, option: str) -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    action = next(
        a
        for a in sub.choices[command]._actions  # type: ignore[union-attr]
        if option in a.option_strings
    )
    assert action.help and len(action.help) > 10, (command, option)


def test_help_has_no_rst_markup() -> None:
    for command in ((), ("predict",), ("bench",), ("summary",), ("demo",)):
        text = _help(*command)
        assert "``" not in text and ":func:" not in text, command


def test_out_and_rank_output_are_told_apart(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = _help("predict")
    assert "--rank-output NAME_OR_INDEX, --output NAME_OR_INDEX" in text
    assert "not the file to write: that is --out" in " ".join(text.split())
    np.save(tmp_path / "x.npy", arrays(read_io(TM)["inputs"])[0])
    # No abbreviations: "--outp" is refused rather than read as --output.
    with pytest.raises(SystemExit):
        main(["predict", str(TM), str(tmp_path / "x.npy"), "--outp", "0"])
    assert "unrecognized arguments: --outp" in capsys.readouterr().err


def test_top_k_prints_label_names_when_the_model_has_labels(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = tmp_path / "tm"
    shutil.copytree(TM, folder)
    (folder / "metadata.json").write_text(json.dumps({"labels": ["cat", "dog", "bird"]}))
    x = arrays(read_io(TM)["inputs"])[0]
    best = arrays(read_io(TM)["outputs"])[0].argmax(-1)
    np.save(tmp_path / "x.npy", x)
    _, out, _ = run(capsys, "predict", folder, tmp_path / "x.npy", "--top-k", 2)
    names = ["cat", "dog", "bird"]
    assert [line.split(": ")[1].split(" ")[0] for line in out.splitlines()] == [
        names[i] for i in best
    ]
    _, out, _ = run(capsys, "predict", folder, tmp_path / "x.npy", "--top-k", 2, "--indices")
    assert [int(line.split(": ")[1].split(" ")[0]) for line in out.splitlines()] == best.tolist()


def test_several_input_files_are_one_per_model_input(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert "one per model input, in the model's input order" in " ".join(_help("predict").split())
    inputs = arrays(read_io(TWO)["inputs"])
    names = [t.name for t in ti.load_model(TWO).inputs]
    for i, a in enumerate(inputs):
        np.save(tmp_path / f"in{i}.npy", a)
    files = [tmp_path / f"in{i}.npy" for i in range(len(inputs))]
    status, _, err = run(capsys, "predict", TWO, *files, files[0])
    assert status == 2
    assert f"{len(inputs) + 1} input files were given" in err
    assert f"the model has {len(inputs)} input(s): {', '.join(names)}" in err
    np.save(tmp_path / "short.npy", inputs[1][:1])
    status, _, err = run(capsys, "predict", TWO, files[0], tmp_path / "short.npy")
    assert status == 2 and "must have the same number of rows" in err
    assert f"short.npy -> input '{names[1]}' has 1" in err
    status, out, _ = run(capsys, "predict", TWO, *files)
    assert status == 0 and out


def test_a_text_file_named_npy(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "x.npy").write_text("1,2,3\n")
    status, _, err = run(capsys, "predict", DIGITS, tmp_path / "x.npy")
    assert status == 2
    assert "x.npy: not a NumPy .npy file (it starts with b'1,2,3\\n'" in err
    assert "pickle" not in err


@pytest.mark.parametrize("value", ["0", "-2", "two"])
def test_bad_counts_are_refused_by_name(capsys: pytest.CaptureFixture[str], value: str) -> None:
    with pytest.raises(SystemExit):
        main(["bench", str(DIGITS), "--threads", value])
    assert f"--threads: must be a positive integer, received '{value}'" in capsys.readouterr().err
