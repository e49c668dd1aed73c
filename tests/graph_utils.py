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
