"""predict's automatic batch size (batch_size=None): the rows per core call
come from a memory budget (keyword, TFJS_INFER_MEMORY_BUDGET, default), and
results never depend on them.

The default is checked bitwise against explicit batch sizes and against the
fixtures' reference outputs from real TF.js / Keras; the budget is checked on
the process's peak resident memory, measured in fresh subprocesses, beside a
control run that ignores the budget (so the measurement is shown to see it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import tfjs_infer as ti
from fixture_utils import ATOL, FIXTURES, RTOL, arrays, as_list, model_path, read_io
from tfjs_infer import _batching
from tfjs_infer.errors import InputValueError

DIGITS = ti.examples.digits_path()
# Single and multi input/output models of several op families.
CASES = [
    "converter/functional_2in_2out",  # 2 inputs, 2 outputs (list)
    "keras3/functional_multi",  # .keras, 2 inputs, 2 outputs
    "tfjs/topo_two_in_two_out",
    "tfjs/dense_mlp",
    "tfjs_conv/conv2d_many_tiles",
    "keras_rnn/k2_text_classifier",  # int32 ids, embedding + RNN
    "converter/embedding",
]


def _rows(case: str, n: int) -> tuple[ti.Model, object, list[np.ndarray]]:
    """The case's model, its inputs tiled to `n` rows (as predict takes them),
    and its reference outputs tiled alike."""
    io = read_io(FIXTURES / case)
    xs, refs = arrays(io["inputs"]), arrays(io["outputs"])
    reps = -(-n // len(xs[0]))
    xs = [np.concatenate([a] * reps)[:n] for a in xs]
    refs = [np.concatenate([r] * reps)[:n] for r in refs]
    model = ti.load_model(model_path(FIXTURES / case))
    return model, xs[0] if len(xs) == 1 else xs, refs


def _same(a: object, b: object, n: int) -> None:
    for x, y in zip(as_list(a, n), as_list(b, n)):
        assert x.dtype == y.dtype and x.shape == y.shape
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("case", CASES)
def test_default_equals_explicit_batch_sizes_bitwise(case: str) -> None:
    n = 101  # prime: no batch size divides it
    model, x, refs = _rows(case, n)
    default = model.predict(x)
    # The default still gives the reference (TF.js / Keras) numbers...
    for got, ref in zip(as_list(default, len(refs)), refs):
        np.testing.assert_allclose(got, ref, rtol=RTOL, atol=ATOL)
    # ...and bitwise the same as every explicit batch size, including the
    # default under budgets small enough to split the input into calls whose
    # last one overlaps the one before.
    for bs in (1, 3, 32, 64, n):
        _same(model.predict(x, batch_size=bs), default, len(refs))
    split = set()
    for budget in [1] + [1024 << k for k in range(24)]:
        rows = model.auto_batch_size(x, memory_budget=budget)
        split.add(rows if rows < n and n % rows else None)
        _same(model.predict(x, memory_budget=budget), default, len(refs))
        _same(model.predict(x, memory_budget=budget, verbose=2), default, len(refs))
        if rows >= n:
            break
    assert split - {None, 1}, f"no budget split {case} into several overlapping calls"


def test_default_is_one_call_up_to_the_budget_and_calls_of_equal_size_past_it() -> None:
    model = ti.load_model(DIGITS)
    x = np.random.default_rng(0).random((1000, 64), dtype=np.float32)
    rows = model.auto_batch_size(x, "16K")

    # The most rows whose planned workspace plus outputs (10 floats a row) fit 16 KiB.
    def need(r: int) -> int:
        return int(model._core.workspace_bytes([[r, 64]])) + r * 10 * 4

    assert 1 < rows < 1000
    assert need(rows) <= 16 << 10 < need(rows + 1), (rows, need(rows), need(rows + 1))
    plans = model._core.num_plans
    model.predict(x, memory_budget="16K")
    # One plan for all calls: equal sizes, the last call overlapping.
    assert model._core.num_plans <= plans + 1
    assert model.auto_batch_size(x) >= 10_000  # the default budget: one call for 1000 rows
    assert _batching.split_calls(10, 4) == (4, [0, 4, 6])  # 3 calls of 4, 2 rows twice
    assert _batching.split_calls(12, 4) == (4, [0, 4, 8])
    assert _batching.split_calls(9, 8) == (5, [0, 4])  # not 8 + 8
    assert _batching.split_calls(1000, 999) == (500, [0, 500])
    assert _batching.split_calls(7, 7) == (7, [0])
    assert _batching.split_calls(0, 7) == (0, [0])


def test_rows_within_budget_search() -> None:
    linear = lambda r: 1000 + 100 * r  # noqa: E731
    assert _batching.rows_within_budget(linear, 1000 + 100 * 37) == 37
    assert _batching.rows_within_budget(linear, 1000 + 100 * 37 + 99) == 37
    assert _batching.rows_within_budget(linear, 1099) == 1  # not even one row fits: 1
    assert _batching.rows_within_budget(lambda r: 0, 10) == _batching.MAX_ROWS


def test_rows_per_call_rule() -> None:
    """The budget is a hard limit; below it, calls stay cache-sized (4 MiB)
    but take at least 32 rows (what convolutional models need to run fast)."""
    mib = 1 << 20
    per_row_mib = lambda r: r * mib  # noqa: E731  (a large conv net)
    assert _batching.rows_per_call(per_row_mib, 256 * mib) == 32
    assert _batching.rows_per_call(per_row_mib, 20 * mib) == 20  # the budget wins
    per_row_kib = lambda r: 4096 + r * 1024  # noqa: E731  (a small dense model)
    assert _batching.rows_per_call(per_row_kib, 256 * mib) == (4 * mib - 4096) // 1024
    assert _batching.rows_per_call(per_row_kib, 4096 + 8 * 1024) == 8
    assert _batching.rows_per_call(per_row_kib, 1) == 1


def test_workspace_grows_with_rows() -> None:
    model = ti.load_model(DIGITS)
    one = model._core.workspace_bytes([[1, 64]])
    many = model._core.workspace_bytes([[1000, 64]])
    # The hidden Dense(64) layer's float32 activations; the output goes straight
    # to the caller's array.
    assert many - one >= 999 * 64 * 4


def test_progress_bar_moves_with_the_default(capsys: pytest.CaptureFixture[str]) -> None:
    model = ti.load_model(DIGITS)
    x = np.zeros((20_000, 64), np.float32)
    os.environ["TFJS_INFER_PROGRESS"] = "always"
    try:
        model.predict(x, verbose=1)
    finally:
        del os.environ["TFJS_INFER_PROGRESS"]
    err = capsys.readouterr().err
    assert "79/79 [" in err  # 20000 rows in calls of 256 (not one call of 20000)


def test_stateful_models_keep_their_fixed_batch() -> None:
    case = FIXTURES / "tfjs_rnn" / "stateful_gru"
    io = read_io(case)
    model = ti.load_model(model_path(case))
    fixed = io["batch_size"]
    assert model.auto_batch_size(arrays(io["calls"][0]["inputs"])) == fixed
    x = arrays(io["calls"][0]["inputs"])[0]
    x = np.concatenate([x] * 3)
    default = model.predict(x)
    model.reset_states()
    _same(model.predict(x, batch_size=fixed), default, 1)


@pytest.mark.parametrize("bad", [0, -5, 1.5, True, "", "lots", "12Q", "-1M", None.__class__])
def test_bad_budget_keyword_raises_a_named_error(bad: object) -> None:
    model = ti.load_model(DIGITS)
    x = np.zeros((3, 64), np.float32)
    with pytest.raises(InputValueError, match="memory_budget must be a positive number of bytes"):
        model.predict(x, memory_budget=bad)
    with pytest.raises(InputValueError, match="memory_budget"):
        model.predict(x, batch_size=2, memory_budget=bad)
    with pytest.raises(InputValueError, match="memory_budget"):
        model.memory_budget = bad  # type: ignore[assignment]


@pytest.mark.parametrize("bad", ["0", "lots", "64 MB please", "-3"])
def test_bad_budget_env_raises_a_named_error(bad: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TFJS_INFER_MEMORY_BUDGET", bad)
    with pytest.raises(InputValueError, match="TFJS_INFER_MEMORY_BUDGET"):
        ti.load_model(DIGITS)


def test_budget_from_keyword_env_and_property(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _batching.parse_memory_budget("256M") == 256 << 20
    assert _batching.parse_memory_budget("1.5GiB") == 3 << 29
    assert _batching.parse_memory_budget(" 64kb ") == 64 << 10
    assert _batching.parse_memory_budget(np.int64(4096)) == 4096
    assert ti.load_model(DIGITS).memory_budget == _batching.DEFAULT_MEMORY_BUDGET
    monkeypatch.setenv("TFJS_INFER_MEMORY_BUDGET", "16K")
    model = ti.load_model(DIGITS)
    assert model.memory_budget == 16 << 10
    x = np.zeros((1, 64), np.float32)
    assert model.auto_batch_size(x) == model.auto_batch_size(x, 16 << 10) < 100
    model.memory_budget = "1M"
    assert model.auto_batch_size(x) == model.auto_batch_size(x, "1M") > 1000
    import pickle

    assert pickle.loads(pickle.dumps(model)).memory_budget == 1 << 20


# -- peak memory, measured in fresh processes ----------------------------------------
_WIDE = 8192  # Dense(16 -> 8192) -> Dense(8192 -> 4): 32 KiB of activations per row
_ROWS = 4096  # 128 MiB of activations in one call
_BUDGET = 8 << 20

_MEASURE = textwrap.dedent(
    """
    import json, resource, sys
    import numpy as np
    import tfjs_infer as ti

    def status(key):
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith(key))

    def start():
        # The peak so far, or (Linux, where the peak can be reset) the current size.
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            return status("VmRSS:")
        except OSError:
            return peak()

    def peak():
        try:
            return status("VmHWM:")
        except OSError:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            return peak if sys.platform == "darwin" else peak * 1024  # macOS: bytes

    model = ti.load_model(sys.argv[1], num_threads=1)
    x = np.random.default_rng(0).random(({rows}, 16), dtype=np.float32)
    model.predict(x[:64], batch_size=json.loads(sys.argv[3]))
    before = start()
    y = model.predict(x, **json.loads(sys.argv[2]))
    print(json.dumps({{"grew": peak() - before, "rows": len(y)}}))
    """
)


def _wide_model(folder: Path) -> Path:
    """A two-layer Dense model written as a TF.js model.json with random weights
    (only its memory matters here)."""
    rng = np.random.default_rng(0)
    kernel1 = rng.standard_normal((16, _WIDE)).astype(np.float32) * 0.1
    kernel2 = rng.standard_normal((_WIDE, 4)).astype(np.float32) * 0.01
    layers = [
        {"class_name": "Dense", "config": {"name": "wide", "units": _WIDE, "activation": "relu",
                                           "use_bias": False, "batch_input_shape": [None, 16]}},
        {"class_name": "Dense", "config": {"name": "out", "units": 4, "activation": "linear",
                                           "use_bias": False}},
    ]  # fmt: skip
    doc = {
        "format": "layers-model",
        "modelTopology": {"class_name": "Sequential", "config": {"name": "wide", "layers": layers}},
        "weightsManifest": [
            {
                "paths": ["w.bin"],
                "weights": [
                    {"name": "wide/kernel", "shape": [16, _WIDE], "dtype": "float32"},
                    {"name": "out/kernel", "shape": [_WIDE, 4], "dtype": "float32"},
                ],
            }
        ],
    }
    (folder / "model.json").write_text(json.dumps(doc))
    (folder / "w.bin").write_bytes(kernel1.tobytes() + kernel2.tobytes())
    return folder / "model.json"


def _grew(model: Path, kwargs: dict, warm_batch: int | None) -> int:
    script = _MEASURE.format(rows=_ROWS)
    proc = subprocess.run(
        [sys.executable, "-c", script, str(model), json.dumps(kwargs), json.dumps(warm_batch)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["rows"] == _ROWS
    return int(result["grew"])


def test_peak_memory_stays_within_the_budget(tmp_path: Path) -> None:
    model = _wide_model(tmp_path)
    slack = 4 << 20  # allocator granularity, numpy temporaries, stray pages
    within = _grew(model, {"memory_budget": _BUDGET}, None)
    # Control: one call of all rows ignores the budget; the measurement must
    # see it (128 MiB of activations), or the check above proves nothing.
    ignored = _grew(model, {"batch_size": _ROWS}, 64)
    assert ignored > 4 * (_BUDGET + slack), f"the control run grew only {ignored} bytes"
    assert within <= _BUDGET + slack, f"peak grew {within} bytes over a {_BUDGET}-byte budget"
    default = _grew(model, {}, None)
    assert default <= _batching.DEFAULT_MEMORY_BUDGET + slack


def test_run_into_checks_the_output_arrays() -> None:
    """The core writes the default path's calls straight into slices of the
    result; arrays it cannot write exactly raise named errors, not crashes."""
    from tfjs_infer.errors import InputDtypeError, InputShapeError

    core = ti.load_model(DIGITS)._core
    x = np.random.default_rng(0).random((6, 64), dtype=np.float32)
    out = np.full((12, 10), -1.0, np.float32)
    core.run_into([x], [out[3:9]])
    np.testing.assert_array_equal(out[3:9], core.run([x])[0])
    assert (out[:3] == -1).all() and (out[9:] == -1).all()
    bad = [
        (np.empty((5, 10), np.float32), InputShapeError),
        (np.empty((6, 10), np.float64), InputDtypeError),
        (np.empty((6, 20), np.float32)[:, ::2], InputDtypeError),  # not contiguous
        (np.empty((6, 10), np.float32).view(np.dtype(">f4")), InputDtypeError),
        ([[0.0] * 10] * 6, InputDtypeError),  # not an array
    ]
    readonly = np.empty((6, 10), np.float32)
    readonly.flags.writeable = False
    bad.append((readonly, InputDtypeError))
    for arr, error in bad:
        with pytest.raises(error, match="output array 0"):
            core.run_into([x], [arr])
    with pytest.raises(InputValueError, match="1 outputs, received 2"):
        core.run_into([x], [out[:6], out[6:]])


def _cli(*args: object, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tfjs_infer.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_cli_predict_default_batch_size(tmp_path: Path) -> None:
    with np.load(DIGITS.parent / "samples.npz") as data:
        x, keras_probs = data["x"], data["keras_probs"]
    np.save(tmp_path / "x.npy", x)
    outs = {}
    for name, extra, env in [
        ("default", (), None),
        ("explicit", ("--batch-size", 7), None),
        ("small budget", (), {"TFJS_INFER_MEMORY_BUDGET": "2K"}),  # a few rows per call
        ("small budget flag", ("--memory-budget", "3K"), None),
    ]:
        out = tmp_path / f"{len(outs)}.npy"
        proc = _cli("predict", DIGITS, tmp_path / "x.npy", "--out", out, *extra, env=env)
        assert proc.returncode == 0, proc.stderr
        outs[name] = np.load(out)
    np.testing.assert_allclose(outs["default"], keras_probs, rtol=RTOL, atol=ATOL)
    _same(outs["explicit"], outs["default"], 1)
    _same(outs["small budget"], outs["default"], 1)
    _same(outs["small budget flag"], outs["default"], 1)
    bad = _cli("predict", DIGITS, tmp_path / "x.npy", env={"TFJS_INFER_MEMORY_BUDGET": "lots"})
    assert bad.returncode == 2
    assert "TFJS_INFER_MEMORY_BUDGET" in bad.stderr and "Traceback" not in bad.stderr
