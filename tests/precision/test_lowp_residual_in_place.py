"""bf16 and int8 convolutions with a fused residual Add write their output over
the residual's buffer when they are its last reader (Op::output_may_alias_input,
compile/model.cpp's plan), as fp32 ones do: the reduced-precision epilogues
(kernels/lowp.h) read each residual element just before they write the same
output element, and the per-sample int8 path (ops/conv_int8.cpp) quantizes
its input into scratch first.

On every ISA with the precision's kernels, at 1 and 2 threads, through the
per-row 1x1 path and the per-sample KxK path: the outputs are bit for bit those
with TFJS_INFER_RESIDUAL_IN_PLACE=0 (output and residual apart; that path is
checked against the numpy model of the scheme in test_int8_conv.py), and the
planned workspace is smaller by the output's size, so the takeover happened.
A residual that a later op still reads is never overwritten."""

from __future__ import annotations

import numpy as np
import pytest

from graph_utils import add_conv
from tfjs_infer import _core

ENV = "TFJS_INFER_RESIDUAL_IN_PLACE"
CASES = [(p, isa) for p in ("int8", "bf16") for isa in _core._testing.lowp_isas(p)]


def block_graph(rng: np.random.Generator, cin: int, f: int, k2: int, later: bool) -> _core.Graph:
    """x -> r = conv1(x); y = conv2(x) + r; out = conv3(y) [+ r when later]."""

    def weights(k: int, ci: int) -> tuple[np.ndarray, np.ndarray]:
        w = rng.standard_normal((k, k, ci, f)).astype(np.float32) / np.float32(k * np.sqrt(ci))
        return w, rng.standard_normal(f).astype(np.float32)

    g = _core.Graph()
    x = g.add_input("x", [None, 9, 11, cin], "float32")
    r = add_conv(g, "c1", x, *weights(1, cin))
    y = add_conv(g, "c2", x, *weights(k2, cin), residual=r)
    out = add_conv(g, "c3", y, *weights(1, f), residual=r if later else None)
    g.set_outputs([out])
    return g


def run(
    monkeypatch: pytest.MonkeyPatch,
    g: _core.Graph,
    precision: str,
    isa: str,
    threads: int,
    x: np.ndarray,
    in_place: bool,
) -> tuple[np.ndarray, int]:
    monkeypatch.setenv(ENV, "1" if in_place else "0")
    model = _core.CompiledModel(
        g, isa=isa, num_threads=threads, optimize=False, precision=precision
    )
    assert set(model.op_precisions()) == {precision}
    (out,) = model.run([x])
    return out, model.workspace_bytes([list(x.shape)])


@pytest.mark.parametrize(("precision", "isa"), CASES)
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("k2", [1, 3])
@pytest.mark.parametrize("later", [False, True])
def test_output_over_residual(
    monkeypatch: pytest.MonkeyPatch, precision: str, isa: str, threads: int, k2: int, later: bool
) -> None:
    rng = np.random.default_rng(k2 * 10 + threads)
    cin, f = 6, 37
    g = block_graph(rng, cin, f, k2, later)
    x = rng.standard_normal((3, 9, 11, cin)).astype(np.float32)
    out, ws = run(monkeypatch, g, precision, isa, threads, x, in_place=True)
    apart, ws_apart = run(monkeypatch, g, precision, isa, threads, x, in_place=False)
    np.testing.assert_array_equal(out.view(np.uint32), apart.view(np.uint32))
    assert np.isfinite(out).all() and (out > 0).any()
    y_bytes = x.shape[0] * x.shape[1] * x.shape[2] * f * 4
    if later:
        assert ws == ws_apart
    else:
        assert ws_apart - ws >= y_bytes
