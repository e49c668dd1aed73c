"""load_model(precision=...) on whole models: each precision stays within a
stated error of the real TF.js / Keras outputs stored in the fixtures,
rows are bitwise the same at every batch size and thread count, the digits
example keeps its accuracy, a CPU without the kernels falls back to float32
with a PrecisionWarning, and the precision survives pickling, summary() and
the CLI.

Error bounds (max |got - reference| / max(1, max |reference|)): bf16 keeps 8
significant bits (relative rounding 2^-9 per input), int8 about 8 bits per
activation row and 7 per weight column (steps of 1/255 of the row's range,
1/127 of the column's max), and a few layers' errors add up. Measured on
these fixtures: bf16 at most 5.4e-3 (resnet_block), int8 8.3e-3
(mobilenetv2_block); the bounds leave 3x margin.
"""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest

import tfjs_infer as ti
from fixture_utils import FIXTURES, arrays, model_path, read_io, read_spec
from tfjs_infer import _core
from tfjs_infer.cli import main

BOUND = {"bf16": 0.016, "int8": 0.025}
CASES = [
    "tfjs/dense_mlp",
    "tfjs/dense_relu",
    "tfjs/dense_batchnorm_dense",
    "tfjs/dense_rank3",
    "keras_conv/resnet_block",
    "keras_conv/mobilenetv2_block",
    "keras_conv/conv2d_groups3",
    "keras_conv/conv2d_groups2_stride2_bn",
    "keras_conv/conv1d_causal",
    "keras_conv/conv3d_groups2",
]


def lowp_isas(precision: str) -> list[str]:
    return list(_core._testing.lowp_isas(precision))


BEST = {p: [i for i in lowp_isas(p) if i != "generic"][:1] or ["generic"] for p in BOUND}


def load(case: str, precision: str, isa: str | None = None, **kw: object) -> ti.Model:
    return ti.Model(read_spec(model_path(FIXTURES / case)), precision=precision, isa=isa, **kw)


@pytest.mark.parametrize("precision", list(BOUND))
@pytest.mark.parametrize("case", CASES)
def test_within_bound_of_reference(case: str, precision: str) -> None:
    io = read_io(FIXTURES / case)
    xs = arrays(io["inputs"])
    ref = arrays(io["outputs"])[0]
    model = load(case, precision, BEST[precision][0])
    assert model.precision == precision
    assert any(p == precision for _, _, p in model.op_precisions())
    got = model.predict(xs[0])
    err = float(np.abs(got - ref).max()) / max(1.0, float(np.abs(ref).max()))
    assert err <= BOUND[precision], f"{case} {precision}: relative error {err:.4f}"
    # Reduced precision really changed the numbers (the GEMMs took the new path).
    assert not np.array_equal(got, load(case, "fp32").predict(xs[0]))


@pytest.mark.parametrize("precision", list(BOUND))
def test_rows_bitwise_at_every_batch_size_and_thread_count(precision: str) -> None:
    for case in ("keras_conv/resnet_block", "tfjs/dense_mlp", "keras_conv/conv2d_groups3"):
        x = arrays(read_io(FIXTURES / case)["inputs"])[0]
        x = np.concatenate([x] * (40 // len(x) + 1))[:40]
        model = load(case, precision, BEST[precision][0], num_threads=2)
        whole = model.predict(x)
        np.testing.assert_array_equal(model.predict(x, batch_size=1), whole)
        np.testing.assert_array_equal(model.predict(x, batch_size=7), whole)
        model.num_threads = 1
        np.testing.assert_array_equal(model.predict(x, batch_size=13), whole)


@pytest.mark.parametrize("precision", ["fp32", *BOUND])
def test_digits_accuracy(precision: str) -> None:
    x, y = ti.examples.digits_samples()
    keras_accuracy = ti.examples.digits_info()["keras_accuracy"]
    model = ti.load_model(ti.examples.digits_path(), precision=precision)
    accuracy = float((model.predict(x).argmax(axis=1) == y).mean())
    # At most one of the 360 digits flips (measured: none).
    assert accuracy >= keras_accuracy - 1.5 / len(y), f"{precision}: {accuracy}"


def test_missing_kernels_fall_back_to_fp32_with_a_warning() -> None:
    case = "keras_conv/resnet_block"
    x = arrays(read_io(FIXTURES / case)["inputs"])[0]
    checked = 0
    for isa in ti.available_isas():
        for precision in BOUND:
            if isa in lowp_isas(precision):
                continue
            with pytest.warns(ti.PrecisionWarning, match=precision):
                model = load(case, precision, isa)
            assert model.precision == "fp32"
            assert {p for _, _, p in model.op_precisions()} == {"fp32"}
            np.testing.assert_array_equal(model.predict(x), load(case, "fp32", isa).predict(x))
            checked += 1
    if "avx2" in ti.available_isas() and "avx2" not in lowp_isas("bf16"):
        assert checked > 0


def test_generic_reference_isa_runs_every_precision_quietly() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", ti.PrecisionWarning)
        for precision in BOUND:
            assert load("tfjs/dense_mlp", precision, "generic").precision == precision


def test_pickle_keeps_precision_and_bits() -> None:
    x, _ = ti.examples.digits_samples()
    for precision in BOUND:
        model = ti.load_model(ti.examples.digits_path(), precision=precision)
        clone = pickle.loads(pickle.dumps(model))
        assert clone.precision == model.precision == precision
        np.testing.assert_array_equal(clone.predict(x), model.predict(x))


def test_summary_build_info_and_bad_argument() -> None:
    model = ti.load_model(ti.examples.digits_path(), precision="int8")
    text = model.summary(print_fn=None)
    assert "Precision: int8" in text and "the rest fp32" in text
    assert "Precision: fp32" in ti.load_model(ti.examples.digits_path()).summary(print_fn=None)
    info = ti.build_info()["precisions"]
    assert set(info) == set(ti.available_isas())
    assert all("fp32" in v for v in info.values()) and "int8" in info["generic"]
    with pytest.raises(ti.InvalidArgumentError, match="precision must be one of"):
        ti.load_model(ti.examples.digits_path(), precision="fp16")


def test_cli_precision_option(capsys: pytest.CaptureFixture[str]) -> None:
    info = ti.build_info()
    runs = "bf16" if "bf16" in info["precisions"][info["isa_selected"]] else "fp32"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ti.PrecisionWarning)  # where it falls back
        assert main(["summary", str(ti.examples.digits_path()), "--precision", "bf16"]) == 0
    assert f"Precision: {runs}" in capsys.readouterr().out


SIMD_INT8 = [i for i in lowp_isas("int8") if i != "generic"] or ["generic"]


@pytest.mark.parametrize("case", ["keras_conv/resnet_block", "keras_conv/mobilenetv2_block"])
def test_int8_isas_give_the_same_model_bits(case: str) -> None:
    """AVX-VNNI (isa 'avx2') and AVX512-VNNI run a whole model to the same
    bits, at every batch size and thread count (where the CPU has one of them,
    that one's determinism alone)."""
    x = arrays(read_io(FIXTURES / case)["inputs"])[0]
    x = np.concatenate([x] * (20 // len(x) + 1))[:20]
    outs = []
    for isa in SIMD_INT8:
        model = load(case, "int8", isa, num_threads=2)
        assert model.precision == "int8"
        outs.append(model.predict(x))
        model.num_threads = 1
        np.testing.assert_array_equal(model.predict(x, batch_size=3), outs[-1])
    for isa, out in zip(SIMD_INT8[1:], outs[1:]):
        np.testing.assert_array_equal(out, outs[0], err_msg=f"{isa} vs {SIMD_INT8[0]}")
