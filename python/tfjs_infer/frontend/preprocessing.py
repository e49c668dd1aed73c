"""Padding, cropping and resampling layers (ZeroPadding1D/2D/3D,
Cropping1D/2D/3D, UpSampling1D/2D/3D), the image preprocessing layers at
inference (Resizing, CenterCrop; Rescaling lives in core.py), the random
augmentation layers (identity at inference, except RandomCrop), and
CategoryEncoding.

TFJS-FORMAT.md 5.3 ("Padding, cropping, resampling", "Preprocessing"), 6.1
and pitfall 10: bilinear UpSampling2D uses TF.js's asymmetric mapping in TF.js
files and half-pixel centres in Keras files; Resizing and CenterCrop follow
Keras everywhere (TF.js cannot run them in a loaded model).
"""

from __future__ import annotations

from typing import Any

from .layout import as_float, data_format, positive_ints, to_channels_first, to_channels_last
from .registry import GraphBuilder, LayerCall, Tensor, fmt_shape, lowering, require_rank

# -- ZeroPadding / Cropping ------------------------------------------------------


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def amount_pairs(layer: LayerCall, key: str, k: int, default: int | tuple) -> list[tuple[int, int]]:
    """Keras's padding/cropping forms, as k (before, after) pairs.

    An int (the same on every side), k ints (symmetric per axis), or k pairs;
    for k == 1 also a bare pair (before, after).
    """
    value = layer.config.get(key)
    if value is None:
        value = default
    pairs: list[Any] | None = None
    if _is_int(value):
        pairs = [(value, value)] * k
    elif isinstance(value, (list, tuple)):
        if k == 1 and len(value) == 2 and all(_is_int(v) for v in value):
            pairs = [tuple(value)]
        elif len(value) == k and all(_is_int(v) for v in value):
            pairs = [(v, v) for v in value]
        elif len(value) == k and all(
            isinstance(p, (list, tuple)) and len(p) == 2 and all(_is_int(v) for v in p)
            for p in value
        ):
            pairs = [tuple(p) for p in value]
    if pairs is None or any(v < 0 for p in pairs for v in p):
        forms = (
            "an int, a (before, after) pair"
            if k == 1
            else f"an int, {k} ints or {k} (before, after) pairs"
        )
        raise layer.error(
            f"config '{key}' must be {forms} of non-negative integers, found {value!r}"
        )
    return [(int(a), int(b_)) for a, b_ in pairs]


def _spatial_axes(layer: LayerCall, k: int, rank: int) -> list[int]:
    """The tensor axes of the k spatial dimensions."""
    if "data_format" in layer.config and data_format(layer) == "channels_first":
        return list(range(2, 2 + k))
    return list(range(1, 1 + k))


def _pad_op(
    layer: LayerCall, b: GraphBuilder, x: Tensor, pairs: list[tuple[int, int]], sign: int
) -> Tensor:
    k = len(pairs)
    rank = len(x.shape)
    axes = _spatial_axes(layer, k, rank)
    begin = [0] * (rank - 1)
    end = [0] * (rank - 1)
    for axis, (before, after) in zip(axes, pairs):  # a crop leaving nothing: the core says
        begin[axis - 1] = sign * before
        end[axis - 1] = sign * after
    return b.op("pad", layer, [x], attrs={"begin": begin, "end": end})


@lowering("ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D")
def lower_zero_padding(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    k = int(layer.class_name[-2])
    x = layer.inputs[0]
    require_rank(layer, x, k + 2)
    return [_pad_op(layer, b, x, amount_pairs(layer, "padding", k, 1), +1)]


_CROP_DEFAULTS = {1: 1, 2: 0, 3: 1}  # Keras: (1, 1), ((0, 0), (0, 0)), ((1, 1),) * 3


@lowering("Cropping1D", "Cropping2D", "Cropping3D")
def lower_cropping(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    k = int(layer.class_name[-2])
    x = layer.inputs[0]
    require_rank(layer, x, k + 2)
    return [_pad_op(layer, b, x, amount_pairs(layer, "cropping", k, _CROP_DEFAULTS[k]), -1)]


# -- UpSampling --------------------------------------------------------------------

INTERPOLATIONS = ("nearest", "bilinear")
_OTHER_INTERPOLATIONS = ("bicubic", "area", "lanczos3", "lanczos5", "gaussian", "mitchellcubic")


def interpolation(layer: LayerCall, default: str) -> str:
    value = layer.config.get("interpolation") or default
    if not isinstance(value, str):
        raise layer.error(f"config 'interpolation' must be a string, found {value!r}")
    name = value.lower()
    if name in INTERPOLATIONS:
        return name
    if name in _OTHER_INTERPOLATIONS:
        raise layer.unsupported(
            f"interpolation '{value}' is not supported (supported: {', '.join(INTERPOLATIONS)})"
        )
    raise layer.error(f"config 'interpolation' has an unknown value {value!r}")


@lowering("UpSampling1D", "UpSampling2D", "UpSampling3D")
def lower_upsampling(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    """Nearest: each element repeated (TF.js's floor(dst * in / out) gives the
    same indices for integer factors). Bilinear (2D only): TF.js's asymmetric
    mapping for TF.js files, TF's half-pixel centres for Keras files."""
    k = int(layer.class_name[-2])
    x = layer.inputs[0]
    require_rank(layer, x, k + 2)
    size = positive_ints(layer, "size", k, 2)
    method = interpolation(layer, "nearest") if k == 2 else "nearest"
    axes = _spatial_axes(layer, k, len(x.shape)) if k > 1 else [1]
    if method == "nearest":
        reps = [1] * (len(x.shape) - 1)
        for axis, f in zip(axes, size):
            reps[axis - 1] = f
        return [b.op("upsample", layer, [x], attrs={"repeats": reps})]
    channels_first = axes[0] == 2
    x = as_float(layer, b, x)
    if channels_first:
        x = to_channels_last(layer, b, x)
    attrs = {
        "method": "bilinear",
        "coords": "asymmetric" if layer.semantics == "tfjs" else "half_pixel",
        "scale": list(size),
    }
    y = b.op("resize", layer, [x], attrs=attrs)
    if channels_first:
        y = to_channels_first(layer, b, y)
    return [y]


# -- Resizing, CenterCrop, RandomCrop ----------------------------------------------


def _image_op(
    layer: LayerCall, b: GraphBuilder, attrs: dict[str, Any], height: int, width: int
) -> Tensor:
    """A "resize" op on an NHWC (or, Keras 3, NCHW) image batch to (height, width)."""
    x = as_float(layer, b, layer.inputs[0])
    require_rank(layer, x, 4)
    channels_first = "data_format" in layer.config and data_format(layer) == "channels_first"
    if channels_first:
        x = to_channels_last(layer, b, x)
    y = b.op(
        "resize",
        layer,
        [x],
        attrs={**attrs, "size": [height, width]},
    )
    if channels_first:
        y = to_channels_first(layer, b, y)
    return y


def _target(layer: LayerCall) -> tuple[int, int]:
    return layer.config_int("height", minimum=1), layer.config_int("width", minimum=1)


@lowering("Resizing")
def lower_resizing(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    """Keras semantics (tf.image.resize, half-pixel centres, no antialias);
    crop_to_aspect_ratio takes smart_resize's centred window first."""
    layer.tfjs_refuses("TF.js 4.22's Resizing throws in a loaded model")
    height, width = _target(layer)
    method = interpolation(layer, "bilinear")
    if layer.config_bool("pad_to_aspect_ratio", False):
        raise layer.unsupported("pad_to_aspect_ratio=True is not supported")
    if layer.config_bool("antialias", False):
        raise layer.unsupported("antialias=True is not supported")
    crop = "aspect" if layer.config_bool("crop_to_aspect_ratio", False) else "none"
    attrs = {"method": method, "coords": "half_pixel", "crop": crop}
    return [_image_op(layer, b, attrs, height, width)]


@lowering("CenterCrop")
def lower_center_crop(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    """Keras: an exact centred slice when the input is at least the target
    size, otherwise smart_resize (aspect-ratio crop, then bilinear resize)."""
    layer.tfjs_refuses("TF.js 4.22's CenterCrop throws in a loaded model")
    height, width = _target(layer)
    attrs = {"method": "bilinear", "coords": "half_pixel", "crop": "center"}
    return [_image_op(layer, b, attrs, height, width)]


@lowering("RandomCrop")
def lower_random_crop(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    """At inference no random crop happens. Keras 2 (tf_keras) then always
    applies smart_resize to (height, width). Keras 3.15 returns the input
    unchanged (random_crop.py resizes only inside ``if training``), whatever
    its declared output shape says; verified by the k3_random_crop_* fixtures."""
    if layer.semantics == "keras3":
        return lower_augmentation(layer, b)
    height, width = _target(layer)
    attrs = {"method": "bilinear", "coords": "half_pixel", "crop": "aspect"}
    return [_image_op(layer, b, attrs, height, width)]


# -- Random augmentation: identity at inference ------------------------------------

# Keras 2 and 3 image augmentation layers whose inference call returns the
# input unchanged (TFJS-FORMAT.md 6.1). RandomWidth/RandomHeight are in
# core.py. AutoContrast and ContrastLimitedAdaptiveHistogramEqualization
# transform at inference too and are not supported.
AUGMENTATION_IDENTITY = (
    "RandomFlip",
    "RandomRotation",
    "RandomTranslation",
    "RandomZoom",
    "RandomContrast",
    "RandomBrightness",
    "RandomErasing",
    "RandomGrayscale",
    "RandomHue",
    "RandomSaturation",
    "RandomSharpness",
    "RandomShear",
    "RandomPerspective",
    "RandomPosterization",
    "RandomInvert",
    "RandomColorDegeneration",
    "RandomColorJitter",
    "RandomElasticTransform",
    "RandomGaussianBlur",
    "RandAugment",
    "AugMix",
    "CutMix",
    "MixUp",
    "Equalization",
    "Solarization",
    "MaxNumBoundingBoxes",
)


@lowering(*AUGMENTATION_IDENTITY)
def lower_augmentation(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    """Random augmentation layers are the identity when training is False."""
    x = layer.inputs[0]
    out = b.op("identity", layer, [x])
    out.mask = x.mask
    return [out]


# -- CategoryEncoding ----------------------------------------------------------------


@lowering("CategoryEncoding")
def lower_category_encoding(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    """Ids -> one_hot / multi_hot / count vectors of num_tokens floats.

    one_hot: an input whose last axis is 1 gives (..., T) in TF.js and Keras;
    other inputs get a new axis (Keras 3), which TF.js and Keras 2 limit to rank-1 inputs.
    """
    x = layer.inputs[0]
    tokens = layer.config_int("num_tokens", minimum=1)
    mode = layer.config_enum(
        "output_mode", ["one_hot", "multi_hot", "count", "int", "tf_idf"], "multi_hot"
    )
    if mode in ("int", "tf_idf"):
        raise layer.unsupported(
            f"output_mode '{mode}' is not supported (one_hot, multi_hot, count)"
        )
    if layer.config_bool("sparse", False):
        raise layer.unsupported("sparse=True is not supported")
    if "count_weights" in layer.kwargs:
        raise layer.unsupported("count_weights is not supported")
    if mode == "one_hot" and len(x.shape) >= 2 and x.shape[-1] == 1:
        mode = "multi_hot"  # one id per row: the same vector
    elif mode == "one_hot":
        if layer.semantics != "keras3" and len(x.shape) != 1:
            raise layer.error(
                f"one_hot of {fmt_shape(x.shape)} would have rank 3 (TF.js, Keras 2: at most 2)"
            )
        return [
            b.op(
                "category_encoding",
                layer,
                [x],
                attrs={"num_tokens": tokens, "mode": mode},
            )
        ]
    if len(x.shape) < 2:
        raise layer.unsupported(f"{mode} of a rank-1 input {fmt_shape(x.shape)} is not supported")
    if layer.semantics != "keras3" and len(x.shape) > 2:
        raise layer.error(
            f"{mode} of {fmt_shape(x.shape)} would have rank > 2 (TF.js, Keras 2: at most 2)"
        )
    return [b.op("category_encoding", layer, [x], attrs={"num_tokens": tokens, "mode": mode})]
