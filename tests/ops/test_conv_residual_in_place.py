"""A convolution with a fused residual Add writes its output over the
residual's buffer when it is the residual's last reader (Op::
output_may_alias_input, compile/model.cpp's plan): the fp32 GEMM reads each
residual element just before it writes the same output element.

Checked on every ISA, at 1 and 2 threads, through the 1x1 (input read in
place) and the 3x3 implicit-GEMM paths: the outputs are bit for bit those with
TFJS_INFER_RESIDUAL_IN_PLACE=0 (output and residual apart), the planned
workspace is smaller by the output's size (so the takeover happened), and
the result is a convolution plus residual by a float64 numpy reference. A
residual that is also the convolution's own input, or that a later op still
reads, is never overwritten.
"""

from __future__ import annotations

import numpy as np
import pytest

import tfjs_infer
from graph_utils import add_conv
from tfjs_infer import _core

ISAS = tfjs_infer.available_isas()
ENV = "TFJS_INFER_RESIDUAL_IN_PLACE"


def conv_ref(x, w, b):
    """Stride-1 'same' conv2d in float64 (odd kernels: equal padding)."""
    kh, kw = w.shape[:2]
    ph, pw = kh // 2, kw // 2
    xp = np.pad(x.astype(np.float64), ((0, 0), (ph, ph), (pw, pw), (0, 0)))
    h, wd = x.shape[1:3]
    out = np.zeros((*x.shape[:3], w.shape[3]))
    mag = np.zeros_like(out)
    for dy in range(kh):
        for dx in range(kw):
            win = xp[:, dy : dy + h, dx : dx + wd, :]
            out += win @ w[dy, dx].astype(np.float64)
            mag += np.abs(win) @ np.abs(w[dy, dx].astype(np.float64))
    return out + b, mag + np.abs(b)


def weights(rng, k, cin, cout):
    w = rng.standard_normal((k, k, cin, cout), dtype=np.float32) / np.float32(k * np.sqrt(cin))
    return w, rng.standard_normal(cout, dtype=np.float32)


def block_graph(shape, p, layout):
    """x -> r = conv1(x); y = conv2(x or r) + r; out = conv3(y) [+ r].
    layout: 'last' (conv2 is r's last reader), 'self' (conv2 reads r as its
    input too), 'later' (conv3 adds r again)."""
    g = _core.Graph()
    x = g.add_input("x", [None, *shape[1:]], "float32")
    r = add_conv(g, "c1", x, *p["c1"])
    y = add_conv(g, "c2", r if layout == "self" else x, *p["c2"], residual=r)
    out = add_conv(g, "c3", y, *p["c3"], residual=r if layout == "later" else None)
    g.set_outputs([out])
    return g


def reference(x, p, layout):
    relu = lambda v: np.maximum(v, 0)  # noqa: E731
    r, _ = conv_ref(x, *p["c1"])
    r = relu(r)
    y, _ = conv_ref(r if layout == "self" else x, *p["c2"])
    y = relu(y + r)
    out, mag3 = conv_ref(y.astype(np.float32), *p["c3"])
    if layout == "later":
        out = out + r
        mag3 = mag3 + np.abs(r)
    return relu(out), mag3


def run(monkeypatch, graph, isa, threads, x, in_place):
    monkeypatch.setenv(ENV, "1" if in_place else "0")
    model = _core.CompiledModel(graph, isa=isa, num_threads=threads, optimize=False)
    (out,) = model.run([x])
    return out, model.workspace_bytes([list(x.shape)])


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("k2", [1, 3])
@pytest.mark.parametrize("layout", ["last", "self", "later"])
def test_output_over_residual(monkeypatch, isa, threads, k2, layout):
    rng = np.random.default_rng(k2 * 10 + threads)
    cin, f = 6, 37
    x = rng.standard_normal((2, 9, 11, cin), dtype=np.float32)
    p = {
        "c1": weights(rng, 1, cin, f),
        "c2": weights(rng, k2, f if layout == "self" else cin, f),
        "c3": weights(rng, 1, f, f),
    }
    g = block_graph(x.shape, p, layout)
    out, ws = run(monkeypatch, g, isa, threads, x, in_place=True)
    apart, ws_apart = run(monkeypatch, g, isa, threads, x, in_place=False)
    np.testing.assert_array_equal(out.view(np.uint32), apart.view(np.uint32))
    y_bytes = x.shape[0] * x.shape[1] * x.shape[2] * f * 4
    if layout == "last":
        assert ws_apart - ws >= y_bytes
    else:
        assert ws == ws_apart
    ref, mag = reference(x, p, layout)
    # conv3's own rounding bound plus the error it inherits from y, scaled
    # generously (y is itself within a few k u of its float64 value).
    bound = 1e-4 * (mag + 1.0)
    assert np.all(np.abs(out - ref) <= bound)
