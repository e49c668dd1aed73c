"""The implicit-GEMM convolution (the default for undilated, ungrouped 2D
convolutions) against the im2col path (TFJS_INFER_CONV_IMPLICIT=0), bit for
bit, on every ISA this machine has.

The implicit path reads each output pixel's window from a zero-padded copy of
the input, or from the input itself where no window reaches past it (a
'valid' or 1x1 strided convolution), through one pointer per pixel
(kernels/kernel_args.h GemmArgs::a_rows) instead of gathering it; its k order
(ky, kx, cin) and its FMAs are the im2col GEMM's, so the results must be
identical: random shapes with strides 1-3, borders, 'same'/'valid'/explicit
pads (a folded ZeroPadding), odd sizes, batches > 1, residuals, 1 and 2
threads; ResNet50's 3x3 layers, its 7x7 stride-2 first layer (3 channels) and
its 1x1 stride-2 projections. A float64 numpy convolution (np.einsum over the
taps, written from TF's definition) checks both are convolutions at all.
The implicit side reads kernel rows of any length in place
(TFJS_INFER_CONV_IMPLICIT_MIN=1), so the thin rows of 1- to 3-channel inputs,
which only some CPUs' tables take by default (conv_base.h
min_implicit_segment, checked on recorded cpuid outputs), are covered on
every ISA.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tfjs_infer
from fixture_utils import cpuid_leaves
from tfjs_infer import _core

ISAS = tfjs_infer.available_isas()
ENV = "TFJS_INFER_CONV_IMPLICIT"
MIN_ENV = "TFJS_INFER_CONV_IMPLICIT_MIN"
T = _core._testing


def reference(x, w, b, stride, padding):
    """TF's conv2d in float64: pad as TF does ('same': the odd zero after;
    explicit: ((top, bottom), (left, right))), then a sum over the taps."""
    n, h, wd, _ = x.shape
    kh, kw, _, _ = w.shape
    pads = []
    for axis, (size, k) in enumerate(((h, kh), (wd, kw))):
        if padding == "same":
            out = -(-size // stride)
            total = max((out - 1) * stride + k - size, 0)
            before, after = total // 2, total - total // 2
        else:
            before, after = (0, 0) if padding == "valid" else padding[axis]
            out = (size + before + after - k) // stride + 1
        pads.append((before, after, out))
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


def compiled(graph, isa, threads, implicit, monkeypatch, min_segment="1"):
    """The model with the implicit path on or off (the variables are read when
    the op is built); on, for kernel rows of at least `min_segment` floats
    (1 by default: every row length on every ISA; None: the CPU's rule). The
    direct kernel of small convolutions (test_conv_direct.py) is off, so the
    small layers here run the GEMM paths."""
    monkeypatch.setenv("TFJS_INFER_CONV_DIRECT", "0")
    monkeypatch.setenv(ENV, "1" if implicit else "0")
    if min_segment is None:
        monkeypatch.delenv(MIN_ENV, raising=False)
    else:
        monkeypatch.setenv(MIN_ENV, min_segment)
    return _core.CompiledModel(graph, isa=isa, num_threads=threads, optimize=False)


def conv_graph(shape, w, b, stride, padding, residual_shape=None):
    g = _core.Graph()
    inputs = [g.add_input("x", [None, *shape[1:]], "float32")]
    attrs = {"strides": [stride, stride], "activation": "relu"}
    if isinstance(padding, str):
        attrs["padding"] = padding
    else:  # a folded ZeroPadding2D
        attrs.update(padding="explicit", pads=[v for pair in padding for v in pair])
    if residual_shape is not None:
        inputs.append(g.add_input("r", [None, *residual_shape[1:]], "float32"))
        attrs["has_residual"] = 1
    (y,) = g.add_op("conv2d", "conv", inputs, attrs, {"kernel": w, "bias": b})
    g.set_outputs([y])
    return g


@st.composite
def conv_case(draw):
    k = draw(st.sampled_from([(3, 3), (3, 3), (1, 3), (5, 5), (7, 7), (2, 3), (3, 1), (1, 1)]))
    stride = draw(st.sampled_from([1, 1, 2, 2, 3]))
    padding = draw(st.sampled_from(["same", "same", "valid", "explicit"]))
    if padding == "explicit":
        padding = tuple((draw(st.integers(0, 3)), draw(st.integers(0, 3))) for _ in range(2))
    grow = (0, 0) if isinstance(padding, str) else (sum(padding[0]), sum(padding[1]))
    h = draw(st.integers(max(1, k[0] - grow[0]) if padding != "same" else 1, 13))
    wd = draw(st.integers(max(1, k[1] - grow[1]) if padding != "same" else 1, 13))
    batch = draw(st.integers(1, 3))
    cin = draw(st.sampled_from([1, 3, 5, 12, 16, 17, 64, 70]))
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
    "hw,k,stride,padding,cin,cout",
    [  # ResNet50's 3x3 layers, its first layer and its stride-2 projections
        ((56, 56), 3, 1, "same", 64, 64),
        ((14, 14), 3, 1, "same", 256, 256),
        ((7, 7), 3, 1, "same", 512, 512),
        ((224, 224), 7, 2, ((3, 3), (3, 3)), 3, 64),
        ((56, 56), 1, 2, "valid", 256, 512),
        ((14, 14), 1, 2, "valid", 1024, 2048),
    ],
)
def test_implicit_resnet_layers_bit_for_bit(isa, hw, k, stride, padding, cin, cout, monkeypatch):
    """Shapes with several row tiles, k blocks (k = 4608 > the k block) and
    split columns; batch 2 and one image at a time."""
    rng = np.random.default_rng(cin)
    x = rng.standard_normal((2, *hw, cin)).astype(np.float32)
    w = (rng.standard_normal((k, k, cin, cout)) / math.sqrt(k * k * cin)).astype(np.float32)
    b = rng.standard_normal(cout).astype(np.float32)
    g = conv_graph(x.shape, w, b, stride, padding)
    base = compiled(g, isa, 1, False, monkeypatch).run([x])[0]
    for threads in (1, 2):
        model = compiled(g, isa, threads, True, monkeypatch)
        np.testing.assert_array_equal(model.run([x])[0], base)
        one = np.concatenate([model.run([x[i : i + 1]])[0] for i in range(2)])
        np.testing.assert_array_equal(one, base)


@pytest.mark.parametrize("isa", [i for i in ISAS if i != "generic"])
@pytest.mark.parametrize("cout", [24, 20, 56])
def test_implicit_narrow_tail_bit_for_bit(isa, cout, monkeypatch):
    """The GEMM's narrow tail (GemmBlocking::narrow_tail: a last panel of
    17-24 columns in three ymm vectors per row on AVX-512) reads implicit rows
    through its own tiles: on and off, implicit and im2col, the same bits
    (on first, and each output checked against the float64 convolution, so a
    column the tail leaves unwritten cannot pass in memory that held it)."""
    rng = np.random.default_rng(cout)
    x = rng.standard_normal((2, 15, 13, 16)).astype(np.float32)
    w = (rng.standard_normal((3, 3, 16, cout)) / 12).astype(np.float32)
    b = rng.standard_normal(cout).astype(np.float32)
    g = conv_graph(x.shape, w, b, 1, "same")
    saved = tfjs_infer.build_info()["cpu"]["gemm"]
    outs = []
    try:
        for narrow in (1, 0):
            T.set_gemm_blocking(**{**saved, "narrow_tail": narrow})
            for implicit in (False, True):
                outs.append(compiled(g, isa, 1, implicit, monkeypatch).run([x])[0])
    finally:
        T.set_gemm_blocking(**saved)
    ref = np.maximum(reference(x, w, b, 1, "same"), 0)
    for out in outs:
        np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-4)
        np.testing.assert_array_equal(out.view(np.uint32), outs[-1].view(np.uint32))


def default_min_segment(isa: str) -> int:
    """This CPU's rule for table `isa` (checked on recorded CPUs below)."""
    return T.conv_min_implicit_segment(
        T.cpuid_leaves(), isa or tfjs_infer.build_info()["isa_selected"]
    )


@pytest.mark.parametrize("isa", ["", *ISAS])
@pytest.mark.parametrize(
    "hw,k,stride,padding,cin,taken",
    [
        (56, 3, 1, "same", 64, True),
        (260, 3, 1, "same", 64, False),  # a padded copy over 4 MiB
        (56, 7, 2, "same", 64, True),
        (56, 1, 2, "valid", 64, True),  # no copy: pointers into the input
        (260, 1, 2, "valid", 64, True),  # no copy, so no size limit
        (260, 3, 2, "valid", 64, True),
        (224, 7, 2, "same", 3, True),  # ResNet's first layer: kernel rows of 21 floats
        (64, 5, 1, "same", 3, True),  # 15 floats
        (224, 3, 2, "same", 3, False),  # MobileNet's first layer: 9 floats in a padded copy
        (28, 3, 1, "valid", 1, None),  # 3 floats in the input: the CPU's rule
        (28, 3, 1, "same", 1, False),  # 3 floats in a padded copy
    ],
)
def test_implicit_path_is_taken(isa, hw, k, stride, padding, cin, taken, monkeypatch):
    """The variable switches the path (its scratch is a padded image, or none,
    and row pointers, not im2col tiles), so the tests above compare two paths;
    an image whose padded copy exceeds 4 MiB (262 x 262 x 64 floats) stays on
    im2col, and so do kernel rows (kw x cin) under 12 floats read from a
    padded copy and, in the input itself, rows shorter than the CPU's minimum
    for the table (None: 12 floats, any on Zen 4's AVX-512 table); windows
    read from the input itself need no copy at any size. Thin rows take either
    path when the minimum is forced."""
    rng = np.random.default_rng(0)
    w = rng.standard_normal((k, k, cin, 64)).astype(np.float32)
    g = conv_graph((1, hw, hw, cin), w, np.zeros(64, np.float32), stride, padding)

    def path_differs(min_segment):
        sizes = [
            compiled(g, isa, 1, implicit, monkeypatch, min_segment).workspace_bytes(
                [[1, hw, hw, cin]]
            )
            for implicit in (False, True)
        ]
        return sizes[0] != sizes[1]

    if taken is None:
        taken = k * cin >= default_min_segment(isa)
    assert path_differs(None) == taken
    if k * cin < 12:  # a thin row, forced either way
        assert path_differs("1")
        assert not path_differs("1000")


@pytest.mark.parametrize(
    "recording,isa,want",
    [  # Zen 4's AVX-512 table reads kernel rows of any length in place; the rest 12
        ("amd_epyc_zen4_kvm.txt", "avx512", 1),
        ("amd_epyc_zen4_kvm.txt", "avx2", 12),
        ("amd_epyc_zen4_kvm.txt", "generic", 12),
        ("amd_ryzen9_9950x.txt", "avx512", 12),
        ("amd_ryzen9_9950x.txt", "avx2", 12),
        ("intel_xeon_emerald_rapids_kvm.txt", "avx512", 12),
        ("intel_core_i7_7800x.txt", "avx512", 12),
        ("intel_core_i5_6600k.txt", "avx2", 12),
    ],
)
def test_min_implicit_segment_per_cpu(recording, isa, want):
    assert T.conv_min_implicit_segment(cpuid_leaves(recording), isa) == want
