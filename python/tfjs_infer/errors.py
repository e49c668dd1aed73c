"""The exceptions tfjs_infer raises on purpose.

Every class takes the message as its only positional argument (so the C++ core
can raise it and pickling round-trips it); structured details are keyword-only
attributes. Each also subclasses the matching built-in (ValueError, TypeError,
...) so ``except ValueError`` keeps working.
"""

from __future__ import annotations

import errno
from typing import Any


class TfjsInferError(Exception):
    """Base class of every error tfjs_infer raises on purpose."""

    def __init__(self, message: str = "", **details: Any) -> None:
        super().__init__(message)
        for key, value in details.items():
            setattr(self, key, value)


class InvalidModelError(TfjsInferError, ValueError):
    """The model file or folder is malformed, truncated or inconsistent."""


class ModelNotFoundError(InvalidModelError, FileNotFoundError):
    """The model path names no file or folder (also a ``FileNotFoundError``).

    Attributes: ``filename`` (the path) and ``errno`` (``ENOENT``).
    """

    def __init__(self, message: str = "", **details: Any) -> None:
        super().__init__(message, **details)
        self.errno = errno.ENOENT
        self.strerror = "No such file or directory"
        self.filename = details.get("filename")

    def __str__(self) -> str:  # the message, not OSError's "[Errno 2] ..." format
        return str(self.args[0]) if self.args else ""


class InvalidArgumentError(TfjsInferError, ValueError, TypeError):
    """An argument of a tfjs_infer function has the wrong type or value
    (``num_threads="2"``, ``timeout=0``...). Also a ValueError and a TypeError.
    """


class UnsupportedLayerError(InvalidModelError):
    """The model uses a layer class or option tfjs_infer does not implement."""


class WeightsError(InvalidModelError):
    """A weight shard is missing, truncated, oversized, or a weight is unmatched."""


class InputShapeError(TfjsInferError, ValueError):
    """An input array does not match the model's declared input shape."""


class InputDtypeError(TfjsInferError, TypeError):
    """An input array has a dtype that cannot be cast to the model's input dtype."""


class InputValueError(TfjsInferError, ValueError):
    """Input values are out of range (for example embedding ids past the table)."""


class MissingDependencyError(TfjsInferError, ImportError):
    """An optional dependency (an extra such as ``tfjs-infer[keras]``) is not installed."""


class DeviceUnavailableError(TfjsInferError, RuntimeError):
    """An instruction set or device was requested that this machine or build lacks."""


class DeviceError(DeviceUnavailableError):
    """``device="cuda"`` (or ``"cuda:N"``) was asked for but cannot be used; the
    message says why: a CPU-only build, no usable NVIDIA driver, no visible
    device, or a device index out of range. Also a ``DeviceUnavailableError``."""


class DownloadError(TfjsInferError, OSError):
    """Fetching a model from a URL failed: network error, HTTP status, timeout,
    size limit, or a redirect to a scheme other than http/https.

    Attributes: ``url`` (what was being fetched) and, for HTTP errors, ``status``.
    """


class LayerNameError(TfjsInferError, KeyError):
    """A layer name (for intermediate outputs or submodels) that the model does
    not have, or that does not designate one tensor; the message lists close
    matches."""

    def __str__(self) -> str:  # KeyError's own __str__ would quote the message
        return str(self.args[0]) if self.args else ""


__all__ = [
    "DeviceError",
    "DeviceUnavailableError",
    "DownloadError",
    "InputDtypeError",
    "InputShapeError",
    "InputValueError",
    "InvalidArgumentError",
    "InvalidModelError",
    "LayerNameError",
    "MissingDependencyError",
    "ModelNotFoundError",
    "TfjsInferError",
    "UnsupportedLayerError",
    "WeightsError",
]
