"""Images to model inputs, as the model's metadata says (Pillow: ``pip install tfjs-infer[image]``).

For a Teachable Machine image model (metadata.json with ``packageName``
``@teachablemachine/image``, or an ``imageSize`` key), TFJS-FORMAT.md section 8:

- the **centre square** of the image is cropped and resized to the model's
  input size (``imageSize``, 224 by default), as the TM library draws it;
- RGB values 0..255 are scaled with ``x / 127 - 1`` (``"tm-js"``, what the TM
  web library does, the default) or ``x / 127.5 - 1`` (``"tm-keras"``, the
  official Keras/OpenCV snippets, which also resize with LANCZOS);
- grayscale models (one input channel, or ``grayscale: true``) take the
  luminance ``0.2989 R + 0.5870 G + 0.1140 B``, one channel.

Other image models get the same centre crop and resize to their input size and
the raw 0..255 values (``"raw"``: their own Rescaling layer, if any, scales
them); ``"unit"`` (``x / 255``) is available too.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import numpy as np

from .errors import InputShapeError, InputValueError, MissingDependencyError

if TYPE_CHECKING:
    from .model import Model

ImageSource = Union[str, "os.PathLike[str]", Any]  # a path or a PIL.Image.Image

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm")
NORMALIZATIONS = ("tm-js", "tm-keras", "unit", "raw")
_LUMA = np.array([0.2989, 0.5870, 0.1140], dtype=np.float32)

__all__ = [
    "IMAGE_SUFFIXES",
    "NORMALIZATIONS",
    "ImageSettings",
    "image_settings",
    "is_image_path",
    "load_images",
]


@dataclass(frozen=True)
class ImageSettings:
    """How images become inputs: target size, channels, layout and scaling."""

    height: int
    width: int
    channels: int
    normalization: str
    channels_first: bool = False
    teachable_machine: bool = False


def is_image_path(path: str | os.PathLike[str]) -> bool:
    """True when the file name has an image suffix (.png, .jpg, ...)."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def image_settings(
    model: Model,
    *,
    normalization: str | None = None,
    size: tuple[int, int] | None = None,
    input_index: int = 0,
) -> ImageSettings:
    """The image settings for `model`'s input `input_index`, from its shape and metadata.

    Raises
    ------
    InputShapeError
        The input is not an image input (rank 4 with 1, 3 or 4 channels).
    """
    spec = model.inputs[input_index]
    meta = model.metadata
    tm = _is_teachable_machine(meta)
    shape = tuple(spec.shape)
    if len(shape) != 4:
        raise InputShapeError(
            f"input '{spec.name}' has shape {shape}: not an image input "
            "(expected (batch, height, width, channels))"
        )
    channels_first = shape[1] in (1, 3, 4) and shape[3] not in (1, 3, 4)
    h, w, c = (shape[2], shape[3], shape[1]) if channels_first else (shape[1], shape[2], shape[3])
    if c is None and meta.get("grayscale") is True:
        c = 1
    c = 3 if c is None else c
    if c not in (1, 3, 4):
        raise InputShapeError(
            f"input '{spec.name}' has {c} channels; images give 1 (grayscale), 3 (RGB) or 4 (RGBA)"
        )
    default = _meta_size(meta) or 224
    if size is not None:
        h, w = size
    h = default if h is None else h
    w = default if w is None else w
    norm = normalization or ("tm-js" if tm else "raw")
    if norm not in NORMALIZATIONS:
        raise InputValueError(f"normalization must be one of {NORMALIZATIONS}, received {norm!r}")
    return ImageSettings(int(h), int(w), int(c), norm, channels_first, tm)


def load_images(
    sources: Sequence[ImageSource],
    model: Model | None = None,
    *,
    settings: ImageSettings | None = None,
    normalization: str | None = None,
    size: tuple[int, int] | None = None,
) -> np.ndarray:
    """A float32 batch from image files (or PIL images), ready for ``model.predict``.

    Give `model` (its input shape and metadata decide) or explicit `settings`.

    Raises
    ------
    MissingDependencyError
        Pillow is not installed.
    InputValueError
        A file cannot be read as an image.
    """
    if settings is None:
        if model is None:
            raise TypeError("load_images() needs a model or settings")
        settings = image_settings(model, normalization=normalization, size=size)
    image_mod, ops = _pillow()
    resample = (
        image_mod.Resampling.LANCZOS
        if settings.normalization == "tm-keras"
        else (image_mod.Resampling.BILINEAR)
    )
    batch = np.empty((len(sources), settings.height, settings.width, settings.channels), np.float32)
    for i, src in enumerate(sources):
        img = _open(src, image_mod, ops, settings)
        mode = "RGBA" if settings.channels == 4 else "RGB"
        img = ops.fit(img.convert(mode), (settings.width, settings.height), method=resample)
        pixels = np.asarray(img, dtype=np.float32)
        if settings.channels == 1:
            pixels = (pixels @ _LUMA)[..., None]  # TM's grayscale weights, on 0..255 values
        batch[i] = pixels
    batch = _scale(batch, settings.normalization)
    return np.ascontiguousarray(batch.transpose(0, 3, 1, 2)) if settings.channels_first else batch


def _scale(x: np.ndarray, normalization: str) -> np.ndarray:
    if normalization == "tm-js":
        return x / np.float32(127) - np.float32(1)
    if normalization == "tm-keras":
        return x / np.float32(127.5) - np.float32(1)
    if normalization == "unit":
        return x / np.float32(255)
    return x


def _open(src: ImageSource, image_mod: Any, ops: Any, settings: ImageSettings) -> Any:
    if isinstance(src, image_mod.Image):
        return src
    try:
        img = image_mod.open(src)
        img.load()
    except (OSError, ValueError) as exc:
        raise InputValueError(f"{src}: cannot read as an image ({exc})") from None
    if settings.normalization != "tm-keras":
        # Browsers honour the EXIF orientation when TM's web library reads an image;
        # the official Keras snippet does not.
        img = ops.exif_transpose(img)
    return img


def _pillow() -> tuple[Any, Any]:
    try:
        from PIL import Image, ImageOps
    except ImportError:
        raise MissingDependencyError(
            "reading images needs Pillow: pip install 'tfjs-infer[image]'"
        ) from None
    return Image, ImageOps


def _is_teachable_machine(meta: dict[str, Any]) -> bool:
    package = str(meta.get("packageName", ""))
    return package.startswith("@teachablemachine/image") or "imageSize" in meta


def _meta_size(meta: dict[str, Any]) -> int | None:
    value = meta.get("imageSize")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None
