"""tfjs_infer: run TensorFlow.js LayersModels and Keras models natively.

>>> import tfjs_infer as ti
>>> model = ti.load_model(ti.examples.digits_path())
>>> model.inputs[0].shape
(None, 64)
"""

from __future__ import annotations

from . import errors, examples, images
from ._runtime import available_isas, build_info, show_runtime
from .errors import (
    DeviceUnavailableError,
    DownloadError,
    InputDtypeError,
    InputShapeError,
    InputValueError,
    InvalidModelError,
    MissingDependencyError,
    TfjsInferError,
    UnsupportedLayerError,
    WeightsError,
)
from .frontend import supported_layers
from .frontend.semantics import Semantics, SemanticsWarning
from .model import Model, load_model
from .postprocess import (
    Denormalize,
    TopK,
    argmax,
    decode_multilabel,
    sample,
    threshold,
    top_k,
)

__version__ = "0.1.0"

__all__ = [
    "Denormalize",
    "DeviceUnavailableError",
    "DownloadError",
    "InputDtypeError",
    "InputShapeError",
    "InputValueError",
    "InvalidModelError",
    "MissingDependencyError",
    "Model",
    "Semantics",
    "SemanticsWarning",
    "TfjsInferError",
    "TopK",
    "UnsupportedLayerError",
    "WeightsError",
    "__version__",
    "argmax",
    "available_isas",
    "build_info",
    "decode_multilabel",
    "errors",
    "examples",
    "images",
    "load_model",
    "sample",
    "show_runtime",
    "supported_layers",
    "threshold",
    "top_k",
]
