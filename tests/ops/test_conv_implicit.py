"""The implicit-GEMM convolution (the default for stride-1 2D convolutions)
against the im2col path (TFJS_INFER_CONV_IMPLICIT=0), bit for bit, on every ISA
this machine has.

The implicit path reads each output pixel's window from a zero-padded copy of
the input (kernels/kernel_args.h GemmArgs::a_rows) instead of gathering it;
its k order (ky, kx, cin) and its FMAs are the im2col GEMM's, so the results
must be identical: random stride-1 shapes (the path takes no others) with
borders, 'same'/'valid', odd sizes, batches > 1, residuals, 1 and 2
threads. A float64 numpy convolution (np.einsum over the taps, written from
TF's definition) checks both are convolutions at all.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tfjs_infer
from tfjs_infer import _core

ISAS = tfjs_infer.available_isas()
ENV = "TFJS_INFER_CONV_IMPLICIT"


def reference(x, w, b, stride, padding):
    """TF's conv2d in float64: pad as TF does ('same': the odd zero after),
    then a sum over the kernel taps."""
    n, h, wd, _ = x.shape
    kh, kw, _, _ = w.shape
    pads = []
    for size, k in ((h, kh), (wd, kw)):
        out = -(-size // stride) if padding == "same" else (size - k) // stride + 1
        total = max((out - 1) * stride + k - size, 0) if padding == "same" else 0
        pads.append((total // 2, total - total // 2, out))
    (pt, pb, oh), (pl, pr, ow) = pads
    xp = np.pad(x.astype(np.float64), ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    y = np.zeros((n, oh, ow, w.shape[3]))
    for ky in range(kh):
        for kx in range(kw):
            win = xp[
                :,
                ky : ky + (oh - 1) * stride + 1 : stride,
                kx : kx + (ow - 1) * stride + 1 : stride,
            ]
            y += np.einsum("nhwc,cd->nhwd", win, w[ky, kx].astype(np.float64))
    return y + b


def compiled(graph, isa, threads, implicit, monkeypatch):
    """The model with the implicit path on or off (the variable is read when
    the op is built)."""
    monkeypatch.setenv(ENV, "1" if implicit else "0")
    return _core.CompiledModel(graph, isa=isa, num_threads=threads, optimize=False)


def conv_graph(shape, w, b, stride, padding, residual_shape=None):
    g = _core.Graph()
    inputs = [g.add_input("x", [None, *shape[1:]], "float32")]
    attrs = {"strides": [stride, stride], "padding": padding, "activation": "relu"}
    if residual_shape is not None:
        inputs.append(g.add_input("r", [None, *residual_shape[1:]], "float32"))
        attrs["has_residual"] = 1
    (y,) = g.add_op("conv2d", "conv", inputs, attrs, {"kernel": w, "bias": b})
    g.set_outputs([y])
    return g


@st.composite
def conv_case(draw):
    k = draw(st.sampled_from([(3, 3), (3, 3), (1, 3), (5, 5), (7, 7), (2, 3), (3, 1)]))
    stride = 1  # strided convolutions stay on im2col (their padded copy is mostly unread)
    padding = draw(st.sampled_from(["same", "same", "valid"]))
    h = draw(st.integers(k[0] if padding == "valid" else 1, 13))
    wd = draw(st.integers(k[1] if padding == "valid" else 1, 13))
    batch = draw(st.integers(1, 3))
    cin = draw(st.sampled_from([1, 3, 5, 16, 17, 64, 70]))
    cout = draw(st.sampled_from([1, 7, 16, 33, 64, 96]))
    return batch, h, wd, cin, cout, k, stride, padding, draw(st.integers(0, 2**31))


@pytest.mark.parametrize("isa", ISAS)
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=conv_case(), residual=st.booleans())
def test_implicit_equals_im2col_bit_for_bit(isa, case, residual, monkeypatch):
    batch, h, wd, cin, cout, k, stride, padding, seed = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, h, wd, cin)).astype(np.float32)
    w = (rng.standard_normal((*k, cin, cout)) / math.sqrt(k[0] * k[1] * cin)).astype(np.float32)
    b = rng.standard_normal(cout).astype(np.float32)
    ref = reference(x, w, b, stride, padding)
    inputs = [x]
    if residual:
        inputs.append(rng.standard_normal(ref.shape).astype(np.float32))
        ref = ref + inputs[1]
    g = conv_graph(x.shape, w, b, stride, padding, ref.shape if residual else None)
    base = compiled(g, isa, 1, False, monkeypatch).run(inputs)[0]
    for threads in (1, 2):
        got = compiled(g, isa, threads, True, monkeypatch).run(inputs)[0]
        np.testing.assert_array_equal(got.view(np.uint32), base.view(np.uint32))
    np.testing.assert_allclose(base, np.maximum(ref, 0), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize(
    "hw,cin,cout",
    [((56, 56), 64, 64), ((14, 14), 256, 256), ((7, 7), 512, 512)],  # ResNet50's 3x3 layers
)
def test_implicit_resnet_layers_bit_for_bit(isa, hw, cin, cout, monkeypatch):
    """Shapes with several row tiles, k blocks (k = 4608 > the k block) and
    split columns; batch 2 and one image at a time."""
    rng = np.random.default_rng(cin)
    x = rng.standard_normal((2, *hw, cin)).astype(np.float32)
    w = (rng.standard_normal((3, 3, cin, cout)) / math.sqrt(9 * cin)).astype(np.float32)
    b = rng.standard_normal(cout).astype(np.float32)
    g = conv_graph(x.shape, w, b, 1, "same")
    base = compiled(g, isa, 1, False, monkeypatch).run([x])[0]
    for threads in (1, 2):
        model = compiled(g, isa, threads, True, monkeypatch)
        np.testing.assert_array_equal(model.run([x])[0], base)
        one = np.concatenate([model.run([x[i : i + 1]])[0] for i in range(2)])
        np.testing.assert_array_equal(one, base)


@pytest.mark.parametrize("hw,taken", [(56, True), (260, False)])
def test_implicit_path_is_taken(hw, taken, monkeypatch):
    """The variable switches the path (its scratch is a padded image and row
    pointers, not im2col tiles), so the tests above compare two paths; an
    image whose padded copy exceeds 4 MiB (262 x 262 x 64 floats) stays on
    im2col."""
    rng = np.random.default_rng(0)
    w = rng.standard_normal((3, 3, 64, 64)).astype(np.float32)
    g = conv_graph((1, hw, hw, 64), w, np.zeros(64, np.float32), 1, "same")
    sizes = [
        compiled(g, "", 1, implicit, monkeypatch).workspace_bytes([[1, hw, hw, 64]])
        for implicit in (False, True)
    ]
    assert (sizes[0] != sizes[1]) == taken
