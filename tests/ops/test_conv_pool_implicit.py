"""The fused conv2d + pooling op ("conv2d_pool") reads its windows in place
(implicit GEMM) where every window lies inside the input and kernel rows
(kw x cin) are long enough (conv_base.h min_implicit_segment; these tests
force any length with TFJS_INFER_CONV_IMPLICIT_MIN=1), as the plain
convolution does: the same bits as its im2col path (TFJS_INFER_CONV_IMPLICIT=0,
read when the op is built) and as the unfused conv2d + pool, on every ISA, at
1 and 2 threads."""

from __future__ import annotations

import numpy as np
import pytest

import tfjs_infer
from tfjs_infer import _core

ISAS = tfjs_infer.available_isas()
ENV = "TFJS_INFER_CONV_IMPLICIT"
MIN_ENV = "TFJS_INFER_CONV_IMPLICIT_MIN"


def conv_pool_graph(h, w, cin, cout, k, stride, padding, pool, mode, seed):
    rng = np.random.default_rng(seed)
    g = _core.Graph()
    xin = g.add_input("x", [None, h, w, cin], "float32")
    weights = {
        "kernel": (rng.standard_normal((k, k, cin, cout)) * 0.3).astype(np.float32),
        "bias": rng.standard_normal(cout).astype(np.float32),
    }
    attrs = {"strides": [stride, stride], "padding": padding, "activation": "relu"}
    (v,) = g.add_op("conv2d", "conv", [xin], attrs, weights)
    pattrs = {"mode": mode, "pool_size": list(pool), "strides": list(pool), "padding": "valid"}
    (y,) = g.add_op("pool", "pool", [v], pattrs, {})
    g.set_outputs([y])
    return g


def build(graph, isa, threads, implicit, monkeypatch, optimize=True, min_segment="1"):
    """Implicit on (for kernel rows of at least `min_segment` floats: 1, any
    row on every ISA, by default; None: the CPU's rule) or off. The fused
    small-convolution kernel stays off (test_conv_pool_direct.py)."""
    monkeypatch.setenv("TFJS_INFER_CONV_POOL_DIRECT", "0")
    monkeypatch.setenv(ENV, "1" if implicit else "0")
    if min_segment is None:
        monkeypatch.delenv(MIN_ENV, raising=False)
    else:
        monkeypatch.setenv(MIN_ENV, min_segment)
    return _core.CompiledModel(graph, isa=isa, num_threads=threads, optimize=optimize)


# (h, w, cin, cout, k, stride, pool, mode): the MNIST CNN's second layer, odd
# conv outputs (a row and a column the pooling drops), stride 2, a 5x5 kernel
# of 3 channels (rows of 15 floats), non-square pools, average pooling.
CASES = [
    (13, 13, 32, 64, 3, 1, (2, 2), "max"),
    (14, 11, 4, 16, 3, 1, (2, 2), "max"),
    (17, 15, 8, 33, 3, 2, (2, 3), "avg"),
    (20, 20, 3, 7, 5, 1, (3, 2), "max"),
    (28, 28, 1, 32, 3, 1, (2, 2), "max"),  # the MNIST CNN's first layer: rows of 3 floats
    (16, 15, 3, 16, 3, 2, (2, 2), "avg"),  # 9 floats, stride 2
]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_implicit_equals_im2col_and_unfused(case, isa, threads, monkeypatch):
    h, w, cin, cout, k, stride, pool, mode = case
    g = conv_pool_graph(h, w, cin, cout, k, stride, "valid", pool, mode, seed=h * w + cin)
    x = np.random.default_rng(1).standard_normal((5, h, w, cin)).astype(np.float32)
    on = build(g, isa, threads, True, monkeypatch)
    off = build(g, isa, threads, False, monkeypatch)
    plain = build(g, isa, 1, False, monkeypatch, optimize=False)
    assert [o[1] for o in on.ops()] == ["conv2d_pool"]
    got = on.run([x])[0]
    np.testing.assert_array_equal(got, off.run([x])[0])
    np.testing.assert_array_equal(got, plain.run([x])[0])
    for rows in (1, 2):  # any batch gives a row the same bits
        np.testing.assert_array_equal(on.run([x[:rows]])[0], got[:rows])


@pytest.mark.parametrize(
    ("padding", "cin", "k", "min_segment", "taken"),
    [
        ("valid", 32, 3, None, True),
        ("valid", 4, 3, None, True),
        ("valid", 3, 3, "1", True),
        ("valid", 3, 3, "1000", False),
        ("valid", 3, 3, "12", False),
        ("same", 32, 3, "1", False),
    ],
)
def test_implicit_path_is_taken(padding, cin, k, min_segment, taken, monkeypatch):
    """Row pointers instead of im2col rows change the workspace: the path is
    taken for 'valid' windows with kernel rows of at least the minimum (the
    CPU's rule: 12 floats, any on Zen 4's AVX-512 table), not for shorter rows
    or windows that reach into padding."""
    g = conv_pool_graph(13, 13, cin, 64, k, 1, padding, (2, 2), "max", seed=0)
    sizes = [
        build(g, "", 1, implicit, monkeypatch, min_segment=min_segment).workspace_bytes(
            [[2, 13, 13, cin]]
        )
        for implicit in (False, True)
    ]
    assert (sizes[0] != sizes[1]) == taken
