"""tfjs_infer: run TensorFlow.js LayersModels and Keras models natively.

>>> import tfjs_infer as ti
>>> model = ti.load_model(ti.examples.digits_path())
>>> model.inputs[0].shape
(None, 64)
"""

from __future__ import annotations

from . import errors, examples, images
from ._loading import load_model
from ._precision import PrecisionWarning
from ._runtime import available_isas, build_info, show_runtime
from ._version import __version__
from .batch import BatchPredictor
from .errors import (
    DeviceError,
    DeviceUnavailableError,
    DownloadError,
    InputDtypeError,
    InputShapeError,
    InputValueError,
    InvalidArgumentError,
    InvalidModelError,
    LayerNameError,
    MissingDependencyError,
    ModelNotFoundError,
    TfjsInferError,
    UnsupportedLayerError,
    WeightsError,
)
from .frontend import supported_layers
from .frontend.semantics import Semantics, SemanticsWarning
from .inspect import LayerInfo
from .model import Model
from .postprocess import (
    Denormalize,
    TopK,
    argmax,
    decode_multilabel,
    sample,
    threshold,
    top_k,
)

__all__ = [
    "BatchPredictor",
    "Denormalize",
    "DeviceError",
    "DeviceUnavailableError",
    "DownloadError",
    "InputDtypeError",
    "InputShapeError",
    "InputValueError",
    "InvalidArgumentError",
    "InvalidModelError",
    "LayerInfo",
    "LayerNameError",
    "MissingDependencyError",
    "Model",
    "ModelNotFoundError",
    "PrecisionWarning",
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

# `from __future__ import annotations` binds the name `annotations` here: keep
# it out of dir(tfjs_infer) (the future import works at compile time only).
del annotations
