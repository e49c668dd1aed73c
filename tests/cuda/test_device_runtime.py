"""device="cuda" end to end: whole fixture models through the CUDA backend
(runner, memory plan, staging copies, streams, op mapping, CPU fallback).

They need a CUDA device: in the emulation build (TFJS_INFER_CUDA_EMU=ON, built
and run by .ci/cuda-build.sh) an emulated one whose runtime API and kernels
run on the host, so all of this runs in CI; on a GPU machine the real one
(bench/gpu_check.sh). Builds without a device skip them (the CPU-only build
and the nvcc build on a machine without a GPU; their DeviceError reasons are
tested in test_device.py).

Tolerance against the CPU engine: rtol 1e-4, atol 1e-5 (the fixtures'), as
the GPU kernels sum in the generic kernels' order without FMA while the CPU's
AVX-512/AVX2 kernels use FMA, and softmax reduces as a tree.
"""

from __future__ import annotations

import os
import pickle
import threading

import numpy as np
import pytest

import tfjs_infer
from fixture_utils import FIXTURES, arrays, as_list, case_dirs, case_id, model_path, read_io
from tfjs_infer import _core

INFO = tfjs_infer.build_info()
if os.environ.get("TFJS_INFER_REQUIRE_CUDA_TESTS") == "1" and not INFO["cuda_devices"]:
    raise RuntimeError("TFJS_INFER_REQUIRE_CUDA_TESTS=1 but this build has no CUDA device")
pytestmark = pytest.mark.skipif(
    not INFO["cuda_devices"],
    reason="needs a CUDA device: the emulation build (.ci/cuda-build.sh) or a GPU",
)
RTOL, ATOL = 1e-4, 1e-5

# One or more cases per op family the CPU engine has; an op without a CUDA op
# would run on the CPU inside the device run (the fallback tests below).
CASES = [
    "tfjs/dense_mlp",
    "tfjs/dense_rank3",
    "tfjs/dense_softmax",
    "tfjs/dense_batchnorm_dense",
    "tfjs/activation_gelu",
    "tfjs/activation_log_softmax_rank3",
    "tfjs/add_broadcast_rank",
    "tfjs/average_3inputs",
    "tfjs/maximum_broadcast_rank",
    "tfjs/multiply_broadcast_dim",
    "tfjs/batchnorm_rank4_axis1",
    "tfjs/layernorm_rank3_axis_last",
    "tfjs/layernorm_axis_list",
    "tfjs/softmax_layer_rank3_axis2",
    "tfjs/flatten_dense",
    "tfjs/reshape_minus1",
    "tfjs/embedding_int32",
    "tfjs/prelu_rank3",
    "tfjs/concatenate_axis1_rank3",
    "tfjs/topo_two_in_two_out",
    "tfjs_conv/mnist_cnn",
    "tfjs_conv/conv1d_same_stride2_odd",
    "tfjs_conv/conv1d_dilation3_same",
    "tfjs_conv/conv2d_same_stride2_odd",
    "tfjs_conv/conv2d_act_softmax",
    "tfjs_conv/conv2d_dilation_rect_valid",
    "tfjs_conv/conv2d_transpose_same_s2",
    "tfjs_conv/conv3d_valid",
    "tfjs_conv/depthwise_same_s2_odd",
    "tfjs_conv/depthwise_multiplier2",
    "tfjs_conv/separable_s2_relu",
    "tfjs_conv/mobilenetv2_block_s2",
    "tfjs_conv/resnet_block",
    "tfjs_conv/zeropad_conv_asymmetric",
    "tfjs_pool/avg2d_same_k3_s2_odd",
    "tfjs_pool/avg1d_same_k2_s2_odd",
    "tfjs_rnn/gru_last",
    "tfjs_rnn/gru_return_state",
    "tfjs_rnn/lstm_last",
    "tfjs_rnn/lstm_backwards_seq",
    "tfjs_rnn/lstm_return_state_backwards",
    "tfjs_rnn/lstm_act_relu_hard_sigmoid",
    "tfjs_rnn/simple_rnn_act_gelu",
    "tfjs_rnn/simple_rnn_backwards_last",
    "tfjs_rnn/bidi_lstm_concat_seq",
    "tfjs_rnn/mask_embedding_lstm_holes",
    "keras2/attention_layers",
    "keras2/transformer_encoder",
]


def pooling_cases() -> list[str]:
    """Every max-pooling case too: NaN and -inf windows are where max differs."""
    return [case_id(c) for c in case_dirs("tfjs_pool") if c.name.startswith("max")][:6]


def every_case() -> list[str]:
    """Every single-call fixture case of the TF.js and Keras suites (stateful
    "calls" cases aside): the whole-model sweep."""
    dirs = ("tfjs", "tfjs_conv", "tfjs_pool", "tfjs_rnn", "keras2", "keras_conv", "keras_pool")
    dirs += ("keras3", "keras_rnn", "keras3_rnn_masks")
    return [case_id(c) for c in case_dirs(*dirs) if "outputs" in read_io(c)]


def load_pair(case: str) -> tuple[tfjs_infer.Model, tfjs_infer.Model]:
    path = model_path(FIXTURES / case)
    return tfjs_infer.load_model(path), tfjs_infer.load_model(path, device="cuda")


def case_inputs(case: str) -> tuple[object, list[np.ndarray], int]:
    io = read_io(FIXTURES / case)
    xs = arrays(io["inputs"])
    return (xs[0] if len(xs) == 1 else xs), arrays(io["outputs"]), io.get("batch_size", 32)


@pytest.mark.parametrize("case", CASES + pooling_cases())
def test_fixture_model_on_device_matches_cpu_and_reference(case: str) -> None:
    check_on_device(case)


@pytest.mark.parametrize("case", sorted(set(every_case()) - set(CASES)))
def test_every_fixture_model_on_device(case: str) -> None:
    check_on_device(case)


def check_on_device(case: str) -> None:
    cpu, gpu = load_pair(case)
    # Every op family has a CUDA op: no fixture model falls back to the CPU.
    on_cpu = [op[:2] for op, where in zip(gpu._core.ops(), gpu._core.placement) if where != "cuda"]
    assert not on_cpu, f"{case}: ops on the CPU {on_cpu}"
    x, refs, batch_size = case_inputs(case)
    got = as_list(gpu.predict(x, batch_size=batch_size), len(refs))
    want = as_list(cpu.predict(x, batch_size=batch_size), len(refs))
    for i, (g, w, r) in enumerate(zip(got, want, refs)):
        assert g.shape == w.shape == r.shape
        np.testing.assert_allclose(g, w, rtol=RTOL, atol=ATOL, err_msg=f"{case} output {i} vs CPU")
        np.testing.assert_allclose(g, r, rtol=RTOL, atol=ATOL, err_msg=f"{case} output {i} vs ref")


def test_most_ops_of_a_cnn_run_on_the_device() -> None:
    _, gpu = load_pair("tfjs_conv/mobilenetv2_block_s2")
    placement = gpu._core.placement
    assert placement and all(p == "cuda" for p in placement), list(zip(gpu._core.ops(), placement))


def test_attention_models_run_wholly_on_the_device() -> None:
    # A transformer encoder: projections, attention, residual epilogues and
    # layer norms all on the device; the summary says so.
    case = "keras2/transformer_encoder"
    cpu, gpu = load_pair(case)
    assert set(gpu._core.placement) == {"cuda"}, list(zip(gpu._core.ops(), gpu._core.placement))
    text = gpu.summary(print_fn=None)
    header = next(line for line in text.splitlines() if line.startswith("Layer (type)"))
    assert header.rstrip().endswith("Device")
    where = {line.split()[0]: line.split()[-1] for line in text.splitlines() if ") " in line}
    assert where["mha"] == "cuda" and where["ln1"] == "cuda" and where["head"] == "cuda", text
    assert where["res1"] == "-"  # the residual Add is fused into the projection's epilogue
    assert "Device:  cuda:0" in text and "every layer runs on it" in text
    x, refs, _ = case_inputs(case)
    for g, w, r in zip(
        as_list(gpu.predict(x), len(refs)), as_list(cpu.predict(x), len(refs)), refs
    ):
        np.testing.assert_allclose(g, w, rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(g, r, rtol=RTOL, atol=ATOL)


class _Placed:
    """A compiled model's core with its placement replaced (summary tests)."""

    def __init__(self, core: object, placement: list[str]) -> None:
        self._core = core
        self.placement = placement

    def __getattr__(self, name: str) -> object:
        return getattr(self._core, name)


def test_summary_shows_where_each_layer_runs() -> None:
    # Every fixture op has a CUDA op now; the Device column is checked on a
    # placement with the attention op moved to the CPU, as a missing op would be.
    _, gpu = load_pair("keras2/transformer_encoder")
    ops = gpu._core.ops()
    gpu._core = _Placed(gpu._core, ["cpu" if op[1] == "attention" else "cuda" for op in ops])
    text = gpu.summary(print_fn=None)
    where = {line.split()[0]: line.split()[-1] for line in text.splitlines() if ") " in line}
    # MultiHeadAttention: its projections on the device, the attention on the CPU.
    assert where["mha"] == "cuda+cpu" and where["ln1"] == "cuda" and where["head"] == "cuda", text
    assert "Device:  cuda:0" in text and "1 layer(s) run on the CPU" in text


def test_a_cpu_op_between_device_ops_gets_copies_each_way() -> None:
    # identity (device) -> conv2d_pool (the CPU's fused conv+pool, no CUDA op:
    # CPU) -> dense (device): the device's result goes to the host and back.
    rng = np.random.default_rng(5)
    g = _core.Graph()
    x = g.add_input("x", [None, 6, 7, 2], "float32")
    kernel = rng.standard_normal((3, 3, 2, 4)).astype("float32")
    w = rng.standard_normal((4, 3)).astype("float32")
    (xi,) = g.add_op("identity", "id", [x], {}, {})
    attrs = {"strides": [1, 1], "dilations": [1, 1], "padding": "same", "pool_mode": "max"}
    attrs["pool_size"] = [2, 2]
    (pooled,) = g.add_op("conv2d_pool", "conv", [xi], attrs, {"kernel": kernel})
    (y,) = g.add_op("dense", "d", [pooled], {}, {"kernel": w})
    g.set_outputs([y])
    dev = _core.CompiledModel(g, isa="generic", optimize=False, device="cuda")
    host = _core.CompiledModel(g, isa="generic", optimize=False)
    assert list(dev.placement) == ["cuda", "cpu", "cuda"]
    xs = rng.standard_normal((3, 6, 7, 2)).astype("float32")
    (got,), (want,) = dev.run([xs]), host.run([xs])
    np.testing.assert_array_equal(got, want)


def test_memory_plan_and_workspace_are_reused_across_calls() -> None:
    _, gpu = load_pair("tfjs_conv/mnist_cnn")
    x, _, _ = case_inputs("tfjs_conv/mnist_cnn")
    x = np.asarray(x)
    first = gpu.predict_on_batch(x[:4])
    made = gpu._core.device_workspaces
    for _ in range(3):
        np.testing.assert_array_equal(gpu.predict_on_batch(x[:4]), first)
    assert gpu._core.device_workspaces == made  # same shapes: nothing new
    gpu.predict_on_batch(x[:3])
    assert gpu._core.device_workspaces == made + 1  # a new shape set: its own plan
    gpu.predict_on_batch(x[:4])
    assert gpu._core.device_workspaces == made + 1


def test_concurrent_calls_from_threads() -> None:
    _, gpu = load_pair("tfjs/dense_mlp")
    rng = np.random.default_rng(1)
    xs = [rng.standard_normal((5, *gpu.inputs[0].shape[1:])).astype("float32") for _ in range(6)]
    expected = [gpu.predict_on_batch(x) for x in xs]
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        try:
            for r in range(4):
                i = (k + r) % len(xs)
                np.testing.assert_array_equal(gpu.predict_on_batch(xs[i]), expected[i])
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors[0]
    assert gpu._core.device_workspaces >= 1


def test_pickle_keeps_the_device() -> None:
    _, gpu = load_pair("tfjs/dense_mlp")
    back = pickle.loads(pickle.dumps(gpu))
    assert back.device == "cuda:0"
    assert back._core.device.startswith("cuda:0")
    x = np.ones((2, *gpu.inputs[0].shape[1:]), "float32")
    np.testing.assert_array_equal(back.predict(x), gpu.predict(x))


def test_same_bits_at_every_batch_size_on_the_device() -> None:
    _, gpu = load_pair("tfjs_conv/resnet_block")
    x, _, _ = case_inputs("tfjs_conv/resnet_block")
    np.testing.assert_array_equal(gpu.predict(x), gpu.predict(x, batch_size=1))


def test_device_name_repr_and_gemm_engine() -> None:
    _, gpu = load_pair("tfjs/dense_mlp")
    assert gpu.device == "cuda:0" and "device=cuda:0" in repr(gpu)
    if INFO["cuda_emulated"]:
        assert "emulated" in gpu._core.device
        assert gpu._core.gemm_engine.startswith("own kernels (emulation build")
    else:
        assert gpu._core.gemm_engine == "own kernels (cublas=False)"
    with pytest.raises(tfjs_infer.DeviceError, match="index 5 out of range"):
        tfjs_infer.load_model(model_path(FIXTURES / "tfjs/dense_mlp"), device="cuda:5")
    assert _core.device_unusable_reason("cuda", 0) == ""


def test_allow_tf32_is_accepted() -> None:
    path = model_path(FIXTURES / "tfjs/dense_mlp")
    gpu = tfjs_infer.load_model(path, device="cuda", allow_tf32=True)
    x = np.ones((2, *gpu.inputs[0].shape[1:]), "float32")
    # TF32 keeps 10 mantissa bits: close to fp32, not equal on a real GPU.
    np.testing.assert_allclose(gpu.predict(x), tfjs_infer.load_model(path).predict(x), rtol=1e-2)


def test_reduced_precision_is_refused_on_a_device() -> None:
    path = model_path(FIXTURES / "tfjs/dense_mlp")
    with pytest.raises(tfjs_infer.DeviceError, match="precision='bf16' is a CPU engine option"):
        tfjs_infer.load_model(path, device="cuda", precision="bf16")


def test_profile_on_a_device_says_to_use_the_cpu() -> None:
    _, gpu = load_pair("tfjs/dense_mlp")
    with pytest.raises(tfjs_infer.DeviceError, match="device='cpu'"):
        gpu.profile(np.ones((1, *gpu.inputs[0].shape[1:]), "float32"))
