"""Small builders for hand-made engine graphs (``_core.Graph``) in tests."""

from __future__ import annotations

import numpy as np

from tfjs_infer import _core


def add_conv(
    g: _core.Graph,
    name: str,
    x,
    w: np.ndarray,
    b: np.ndarray,
    residual=None,
    stride: int = 1,
    act: str = "relu",
) -> object:
    """A 'same' Conv2D (stride 1 and ReLU unless told); ``residual`` adds a fused
    residual input."""
    attrs = {"strides": [stride, stride], "padding": "same", "activation": act}
    inputs = [x]
    if residual is not None:
        inputs.append(residual)
        attrs["has_residual"] = 1
    (y,) = g.add_op("conv2d", name, inputs, attrs, {"kernel": w, "bias": b})
    return y


def conv_case_graph(spec: tuple, kernel: np.ndarray, bias: np.ndarray | None) -> _core.Graph:
    """One Conv2D graph from a case ``(h, w, cin, cout, kernel, stride, padding,
    activation, bias)``: stride an int or a pair, padding 'same', 'valid' or
    explicit ``[top, bottom, left, right]`` pads; the weights given."""
    h, w, cin = spec[:3]
    stride, padding, act = spec[5], spec[6], spec[7]
    sh, sw = stride if isinstance(stride, tuple) else (stride, stride)
    g = _core.Graph()
    xin = g.add_input("x", [None, h, w, cin], "float32")
    weights = {"kernel": kernel}
    if bias is not None:
        weights["bias"] = bias
    attrs = {"strides": [sh, sw], "activation": act}
    if isinstance(padding, list):
        attrs.update(padding="explicit", pads=padding)
    else:
        attrs["padding"] = padding
    (y,) = g.add_op("conv2d", "conv", [xin], attrs, weights)
    g.set_outputs([y])
    return g


def conv_case_input(spec: tuple, rows: int, seed: int, special: bool) -> np.ndarray:
    """Normal float32 images for a conv case; ``special``: NaN and infinities
    on the edges (windows the kernels copy) and inside."""
    h, w, cin = spec[:3]
    x = np.random.default_rng(seed).standard_normal((rows, h, w, cin)).astype(np.float32)
    if special:
        x[0, 2, 3, 0] = np.nan
        x[3, 0, 0, cin - 1] = np.nan
        x[4, h - 1, w - 1, 0] = np.nan
        x[1, 3, 2, 0] = np.inf
        x[2, 5, w - 1, 0] = -np.inf
        x[2, h - 1, 4, cin - 1] = np.inf
    return x
