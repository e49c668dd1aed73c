"""The tfjs-infer command, run as a subprocess (python -m tfjs_infer.cli, and the script).

Expected numbers come from the fixtures' TF.js/Keras reference outputs, from
the model files' own manifests (parameter counts), or from the documented
preprocessing formulas applied by hand (images).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tfjs_infer as ti
from fixture_utils import ATOL, FIXTURES, RTOL, arrays, read_io

DIGITS = ti.examples.digits_path().parent
TM = FIXTURES / "tfjs" / "topo_tm_style"  # nested Sequential + functional, BatchNorm, softmax(3)
TWO = FIXTURES / "tfjs" / "topo_two_in_two_out"
IMG = FIXTURES / "tfjs" / "rescaling_rank4"  # input (None, 2, 2, 3) -> Rescaling -> Dense(2)


def cli(
    *args: object, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "tfjs_infer.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_demo_prints_top3_and_the_keras_accuracy() -> None:
    out = cli("demo").stdout
    keras = ti.examples.digits_info()["keras_accuracy"]
    assert f"accuracy: {keras:.4f}" in out and f"Keras measured {keras:.4f}" in out
    lines = [line for line in out.splitlines() if "top-3:" in line]
    assert len(lines) == 5
    with np.load(DIGITS / "samples.npz") as data:
        keras_probs, y = data["keras_probs"], data["y"]
    for i, line in enumerate(lines):
        assert f"true {y[i]}" in line
        assert line.split("top-3: ")[1].split(" ")[0] == str(int(np.argmax(keras_probs[i])))


def test_script_entry_point_and_module_forms() -> None:
    script = Path(sys.executable).parent / ("tfjs-infer.exe" if os.name == "nt" else "tfjs-infer")
    assert script.exists(), "pip install should have made the tfjs-infer script"
    proc = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == f"tfjs-infer {ti.__version__}"
    proc = subprocess.run(
        [sys.executable, "-m", "tfjs_infer", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.stdout.strip() == f"tfjs-infer {ti.__version__}"
    assert "summary" in cli("--help").stdout


def _manifest_counts(folder: Path) -> tuple[int, int]:
    doc = json.loads((folder / "model.json").read_text())
    sizes = [
        (w["name"], math.prod(w["shape"])) for g in doc["weightsManifest"] for w in g["weights"]
    ]
    total = sum(n for _, n in sizes)
    frozen = sum(n for name, n in sizes if name.endswith(("moving_mean", "moving_variance")))
    return total, frozen


def test_summary_table_and_totals() -> None:
    out = cli("summary", TM).stdout
    total, frozen = _manifest_counts(TM)
    assert frozen > 0
    assert f"Total params: {total:,}" in out
    assert f"Trainable params: {total - frozen:,}" in out
    assert f"Non-trainable params: {frozen:,}" in out
    assert "Layer (type)" in out and "Output Shape" in out and "Param #" in out
    model = ti.load_model(TM)
    for t in model.inputs + model.outputs:
        assert t.name in out
    assert "(BatchNormalization)" in out and "(Dense)" in out
    dense_rows = [line for line in out.splitlines() if "(Dense)" in line]
    assert dense_rows and all(line.startswith("  ") for line in dense_rows)  # nested: indented
    assert f"Source: {TM}" in out


def test_predict_npy_matches_tfjs_and_writes_every_format(tmp_path: Path) -> None:
    x = arrays(read_io(TM)["inputs"])[0]
    ref = arrays(read_io(TM)["outputs"])[0]
    np.save(tmp_path / "x.npy", x)
    cli("predict", TM, tmp_path / "x.npy", "--out", tmp_path / "y.npy", "--batch-size", 4)
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), ref, rtol=RTOL, atol=ATOL)
    # Printed top-k: class indices and scores in TF.js's order.
    lines = cli("predict", TM, tmp_path / "x.npy", "--top-k", 2).stdout.splitlines()
    assert len(lines) == len(x)
    for i, line in enumerate(lines):
        name, rest = line.split(": ", 1)
        assert name == str(i)
        first = rest.split(", ")[0].split(" ")
        assert int(first[0]) == int(np.argmax(ref[i]))
        assert abs(float(first[1]) - ref[i].max()) < 1e-4
    # Raw outputs printed, one row per input.
    printed = cli("predict", TM, tmp_path / "x.npy").stdout.splitlines()
    assert len(printed) == len(x) and printed[0].startswith("0: [")
    # .json / .csv / .npz outputs.
    cli("predict", TM, tmp_path / "x.npy", "--out", tmp_path / "y.json", "--top-k", 3)
    rows = json.loads((tmp_path / "y.json").read_text())
    assert [r["top_k"][0] for r in rows] == ref.argmax(-1).tolist()
    name = ti.load_model(TM).outputs[0].name
    np.testing.assert_allclose([r[name] for r in rows], ref, rtol=RTOL, atol=ATOL)
    cli("predict", TM, tmp_path / "x.npy", "--out", tmp_path / "y.csv")
    table = np.loadtxt(tmp_path / "y.csv", delimiter=",", skiprows=1, usecols=range(1, 4))
    np.testing.assert_allclose(table, ref, rtol=RTOL, atol=ATOL)
    cli("predict", TM, tmp_path / "x.npy", "--out", tmp_path / "y.npz")
    with np.load(tmp_path / "y.npz") as z:
        np.testing.assert_allclose(z[name], ref, rtol=RTOL, atol=ATOL)


def test_predict_labels_from_metadata_and_a_labels_file(tmp_path: Path) -> None:
    folder = tmp_path / "tm"
    shutil.copytree(TM, folder)
    (folder / "metadata.json").write_text(json.dumps({"labels": ["cat", "dog", "bird"]}))
    x = arrays(read_io(TM)["inputs"])[0]
    ref = arrays(read_io(TM)["outputs"])[0]
    np.save(tmp_path / "x.npy", x)
    names = ["cat", "dog", "bird"]
    out = cli("predict", folder, tmp_path / "x.npy", "--labels").stdout.splitlines()
    assert [line.split(": ")[1].split(" ")[0] for line in out] == [names[i] for i in ref.argmax(-1)]
    (tmp_path / "labels.txt").write_text("0 A a\n1 B b\n2 C c\n")
    out = cli(
        "predict", TM, tmp_path / "x.npy", "--labels-file", tmp_path / "labels.txt", "--top-k", 2
    ).stdout.splitlines()
    best = ["A a", "B b", "C c"]
    assert [line.split(": ")[1].split(" 0.")[0] for line in out] == [
        best[i] for i in ref.argmax(-1)
    ]


def test_predict_csv_json_npz_and_two_inputs(tmp_path: Path) -> None:
    xs = arrays(read_io(TWO)["inputs"])
    refs = arrays(read_io(TWO)["outputs"])
    names = [t.name for t in ti.load_model(TWO).inputs]
    np.save(tmp_path / "a.npy", xs[0])
    np.save(tmp_path / "b.npy", xs[1])
    np.savez(tmp_path / "ab.npz", **{names[1]: xs[1], names[0]: xs[0]})  # by name, any order
    (tmp_path / "ab.json").write_text(json.dumps({n: x.tolist() for n, x in zip(names, xs)}))
    for inputs in (["a.npy", "b.npy"], ["ab.npz"], ["ab.json"]):
        cli("predict", TWO, *[tmp_path / f for f in inputs], "--out", tmp_path / "o.npz")
        with np.load(tmp_path / "o.npz") as z:
            for got, ref in zip(z.values(), refs):
                np.testing.assert_allclose(got, ref, rtol=RTOL, atol=ATOL)
    out = cli("predict", TWO, tmp_path / "ab.npz", "--top-k", 1, "--output", 1).stdout.splitlines()
    assert [int(line.split(": ")[1].split(" ")[0]) for line in out] == refs[1].argmax(-1).tolist()
    # CSV (header row, one sample per row) for a single-input model.
    x = arrays(read_io(TM)["inputs"])[0]
    header = ",".join(f"f{i}" for i in range(x.shape[1]))
    np.savetxt(tmp_path / "x.csv", x, delimiter=",", header=header, comments="", fmt="%.9g")
    cli("predict", TM, tmp_path / "x.csv", "--out", tmp_path / "y.npy")
    ref = arrays(read_io(TM)["outputs"])[0]
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), ref, rtol=RTOL, atol=ATOL)


def _png(path: Path, pixels: np.ndarray) -> None:
    from PIL import Image

    Image.fromarray(pixels.astype(np.uint8)).save(path)


def test_predict_images_with_teachable_machine_preprocessing(tmp_path: Path) -> None:
    folder = tmp_path / "tm_image"
    shutil.copytree(IMG, folder)
    meta = {"packageName": "@teachablemachine/image", "imageSize": 2, "labels": ["yes", "no"]}
    (folder / "metadata.json").write_text(json.dumps(meta))
    rng = np.random.default_rng(0)
    square = rng.integers(0, 256, (2, 2, 3))
    wide = rng.integers(0, 256, (2, 6, 3))  # centre crop keeps columns 2..3
    _png(tmp_path / "a.png", square)
    _png(tmp_path / "b.png", wide)
    model = ti.load_model(folder)
    expected_in = np.stack([square, wide[:, 2:4]]).astype(np.float32)
    for flag, formula in (
        ([], expected_in / 127 - 1),
        (["--normalize", "tm-keras"], expected_in / 127.5 - 1),
    ):
        cli(
            "predict",
            folder,
            tmp_path / "a.png",
            tmp_path / "b.png",
            *flag,
            "--out",
            tmp_path / "y.npy",
        )
        np.testing.assert_allclose(
            np.load(tmp_path / "y.npy"), model.predict(formula), rtol=1e-6, atol=1e-6
        )
    lines = cli("predict", folder, tmp_path, "--labels").stdout.splitlines()  # a folder of images
    want = np.asarray(model.predict(expected_in / 127 - 1)).argmax(-1)
    assert lines == [
        f"{n}: {['yes', 'no'][i]} " + lines[k].rsplit(" ", 1)[1]
        for k, (n, i) in enumerate(zip(["a.png", "b.png"], want))
    ]
    # A model without metadata gets the raw 0..255 values.
    cli("predict", IMG, tmp_path / "a.png", "--out", tmp_path / "raw.npy")
    np.testing.assert_allclose(
        np.load(tmp_path / "raw.npy"), model.predict(expected_in[:1]), rtol=1e-6, atol=1e-6
    )


def test_load_images_grayscale_and_channels_first() -> None:
    from PIL import Image

    from tfjs_infer.images import ImageSettings, load_images

    rgb = np.random.default_rng(1).integers(0, 256, (3, 3, 3)).astype(np.uint8)
    img = Image.fromarray(rgb)
    gray = load_images([img], settings=ImageSettings(3, 3, 1, "raw"))
    luma = rgb.astype(np.float32) @ np.array([0.2989, 0.5870, 0.1140], np.float32)
    np.testing.assert_allclose(gray[0, ..., 0], luma, rtol=1e-6)
    chw = load_images([img], settings=ImageSettings(3, 3, 3, "unit", channels_first=True))
    np.testing.assert_allclose(chw[0], rgb.transpose(2, 0, 1) / np.float32(255), rtol=1e-6)


def test_bench_prints_latency_and_throughput() -> None:
    out = cli("bench", DIGITS, "--batch-size", 8, "--repeats", 20).stdout
    assert "batch 8: median" in out and "rows/s" in out and "first call" in out
    doc = json.loads(cli("bench", TWO, "--json", "--repeats", 5, "--threads", 1).stdout)
    assert doc["num_threads"] == 1 and doc["calls"] == 5
    assert doc["median_ms"] > 0 and doc["rows_per_s"] > 0


def test_progress_bar_on_stderr(tmp_path: Path) -> None:
    x = arrays(read_io(TM)["inputs"])[0]
    np.save(tmp_path / "x.npy", np.tile(x, (5, 1)))
    args = ("predict", TM, tmp_path / "x.npy", "--out", tmp_path / "y.npy", "--batch-size", 4)
    steps = math.ceil(5 * len(x) / 4)
    quiet = cli(*args, env={"TFJS_INFER_PROGRESS": "auto"}).stderr
    assert "[" not in quiet  # stderr is a pipe here: no bar unless forced
    forced = cli(*args, "--progress", "always").stderr
    assert f"{steps}/{steps} [" + "=" * 30 + "]" in forced
    never = cli(*args, "--progress", "never", env={"TFJS_INFER_PROGRESS": "always"}).stderr
    assert "[" not in never


def test_errors_are_one_line_messages_with_status_2(tmp_path: Path) -> None:
    proc = cli("predict", DIGITS, tmp_path / "missing.npy", check=False)
    assert proc.returncode == 2 and "missing.npy: no such file" in proc.stderr
    np.save(tmp_path / "bad.npy", np.zeros((3, 5), np.float32))
    proc = cli("predict", DIGITS, tmp_path / "bad.npy", check=False)
    assert proc.returncode == 2
    assert "'pixels'" in proc.stderr and "(None, 64)" in proc.stderr and "(3, 5)" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = cli("summary", tmp_path, check=False)
    assert proc.returncode == 2 and "no model.json" in proc.stderr
    (tmp_path / "x.txt").write_text("1,2")
    proc = cli("predict", DIGITS, tmp_path / "x.txt", check=False)
    assert proc.returncode == 2 and "unknown input type" in proc.stderr
    proc = cli("predict", DIGITS, tmp_path / "bad.npy", "--batch-size", 0, check=False)
    assert proc.returncode == 2 and "positive integer" in proc.stderr


@pytest.mark.parametrize("verbose", [1, 2])
def test_predict_verbose_api(
    verbose: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    model = ti.load_model(ti.examples.digits_path())
    x, _ = ti.examples.digits_samples()
    monkeypatch.delenv("TFJS_INFER_PROGRESS", raising=False)
    quiet = model.predict(x, batch_size=50, verbose=verbose)
    err = capsys.readouterr().err
    if verbose == 1:
        assert err == ""  # not a terminal
    else:
        assert err.strip().startswith("8/8 - ") and err.count("\n") == 1
    monkeypatch.setenv("TFJS_INFER_PROGRESS", "always")
    loud = model.predict(x, batch_size=50, verbose=1)
    assert "8/8 [" in capsys.readouterr().err
    monkeypatch.setenv("TFJS_INFER_PROGRESS", "never")
    model.predict(x, batch_size=50, verbose=2)
    assert capsys.readouterr().err == ""
    np.testing.assert_array_equal(quiet, loud)
    with pytest.raises(ValueError, match="verbose"):
        model.predict(x, batch_size=50, verbose=7)
