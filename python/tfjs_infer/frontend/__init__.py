"""Frontend: lowers a ModelSpec (Keras config + weights) into a core graph.

One module per layer family registers its lowerings by Keras class name; the
imports below fill the registry.
"""

from __future__ import annotations

from . import (  # noqa: F401  (imported to register lowerings)
    activations,
    attention,
    conv,
    core,
    einsum,
    keras_norm,
    keras_ops,
    masks,
    merge,
    normalization,
    pooling,
    preprocessing,
    recurrent,
    wrappers,
)
from .lower import LoweredModel, lower_model
from .registry import supported_layers

__all__ = ["LoweredModel", "lower_model", "supported_layers"]
