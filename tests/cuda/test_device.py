"""device= plumbing in every build: the argument, DeviceError's reason for the
build at hand (CPU-only, nvcc build without a GPU, emulated or real device),
the CLI's --device, pickling, and the cuBLAS loader's "not found" fallback.

These run in the CPU-only build (the README's test command) and in the CUDA
builds .ci/cuda-build.sh makes; each asserts the reason its own build must give.
"""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pytest

import tfjs_infer
from fixture_utils import FIXTURES
from tfjs_infer import _core

INFO = tfjs_infer.build_info()
MODEL = FIXTURES / "tfjs" / "dense_mlp" / "model.json"
REAL_DEVICES = INFO["cuda_compiled"] and not INFO["cuda_emulated"] and INFO["cuda_devices"]


@pytest.mark.parametrize("bad", ["gpu", "cuda:", "cuda:-1", "cuda:x", "CPU:0", 0, None])
def test_device_argument_is_checked(bad: object) -> None:
    with pytest.raises(tfjs_infer.InvalidArgumentError, match="device must be 'cpu', 'cuda'"):
        tfjs_infer.load_model(MODEL, device=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("flag", ["allow_tf32", "cublas"])
def test_device_flags_take_bools(flag: str) -> None:
    with pytest.raises(tfjs_infer.InvalidArgumentError, match=f"{flag} must be True or False"):
        tfjs_infer.load_model(MODEL, **{flag: "yes"})  # type: ignore[arg-type]


def test_cpu_is_the_default_and_survives_pickling() -> None:
    model = tfjs_infer.load_model(MODEL)
    assert model.device == "cpu"
    assert pickle.loads(pickle.dumps(model)).device == "cpu"
    assert tfjs_infer.load_model(MODEL, device="CPU").device == "cpu"


def expected_reason() -> str | None:
    """The reason this build and machine must give for cuda:0, None if usable."""
    if not INFO["cuda_compiled"]:
        return "CPU-only build"
    if INFO["cuda_devices"]:
        return None
    # The nvcc build on a machine without a GPU: no driver (error 35, as on
    # the CI machine), or a driver that sees no device.
    return "no usable NVIDIA driver|no CUDA device is visible"


def test_device_error_says_why_for_this_build() -> None:
    reason = expected_reason()
    if reason is None:  # a usable (emulated or real) device: the model loads there
        model = tfjs_infer.load_model(MODEL, device="cuda")
        assert model.device == "cuda:0"
        assert _core.device_unusable_reason("cuda", 0) == ""
        return
    with pytest.raises(tfjs_infer.DeviceError, match=reason) as info:
        tfjs_infer.load_model(MODEL, device="cuda")
    assert "device 'cuda:0' unavailable" in str(info.value)
    assert isinstance(info.value, tfjs_infer.DeviceUnavailableError)
    assert isinstance(info.value, RuntimeError)
    with pytest.raises(tfjs_infer.DeviceError, match="'cuda:3' unavailable: .*(" + reason + ")"):
        tfjs_infer.load_model(MODEL, device="cuda:3")


def test_no_driver_reason_names_error_35_on_a_gpu_less_nvcc_build() -> None:
    reason = _core.device_unusable_reason("cuda", 0)
    if INFO["cuda_compiled"] and not INFO["cuda_devices"] and "driver" in reason:
        assert "cudaErrorInsufficientDriver (CUDA error 35)" in reason
        assert "CUDA runtime 1" in reason  # the build's runtime version, e.g. 13.0
    elif not INFO["cuda_compiled"]:
        assert "cmake.define.TFJS_INFER_CUDA=ON" in reason


def test_device_index_out_of_range() -> None:
    if not INFO["cuda_devices"]:
        # No device at all: the build's reason comes first (tested above).
        assert _core.device_unusable_reason("cuda", 99) != ""
        return
    count = len(INFO["cuda_devices"])
    expected = f"index {count} out of range: .* {count} CUDA"
    with pytest.raises(tfjs_infer.DeviceError, match=expected):
        tfjs_infer.load_model(MODEL, device=f"cuda:{count}")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tfjs_infer", *args], capture_output=True, text=True, timeout=120
    )


def test_cli_device_option() -> None:
    bad = cli("summary", str(MODEL), "--device", "tpu")
    assert bad.returncode == 2 and "device must be 'cpu', 'cuda'" in bad.stderr
    run = cli("summary", str(MODEL), "--device", "cuda")
    reason = expected_reason()
    if reason is None:
        assert run.returncode == 0, run.stderr
        assert "Device" in run.stdout
    else:
        assert run.returncode == 2
        assert "tfjs-infer: error: device 'cuda:0' unavailable" in run.stderr
    assert cli("summary", str(MODEL), "--device", "cpu").returncode == 0


def test_cublas_loader_falls_back_when_not_found() -> None:
    if not INFO["cuda_compiled"]:
        assert "CPU-only" in _core.cublas_probe(["libcublas.so.13"])
        return
    missing = _core.cublas_probe(["libcublas.so.999", "/nonexistent/libcublas.so.13"])
    assert missing.startswith("own kernels (cuBLAS not found: libcublas.so.999: ")
    assert "/nonexistent/libcublas.so.13: " in missing
    # A library that loads but is not cuBLAS is refused, not called.
    assert "lacks the cuBLAS v2 entry points" in _core.cublas_probe(["libm.so.6"])


def test_cpu_summary_has_no_device_column() -> None:
    text = tfjs_infer.load_model(MODEL).summary(print_fn=None)
    assert "Device" not in text


@pytest.mark.skipif(not REAL_DEVICES, reason="needs a real CUDA device (bench/gpu_check.sh)")
def test_real_device_runs_the_mlp() -> None:
    cpu = tfjs_infer.load_model(MODEL)
    gpu = tfjs_infer.load_model(MODEL, device="cuda")
    x = np.random.default_rng(0).standard_normal((64, *cpu.inputs[0].shape[1:])).astype("float32")
    np.testing.assert_allclose(gpu.predict(x), cpu.predict(x), rtol=1e-4, atol=1e-5)
