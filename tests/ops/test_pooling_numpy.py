"""The pooling, padding, upsampling, resize and category-encoding core ops
against numpy references written here (independent of the engine), across
random shapes (hypothesis), for every ISA this machine runs, and the same
outputs for 1 and 2 threads."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
from core_graph import run_op
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import tfjs_infer
from tfjs_infer import _core
from tfjs_infer.errors import (
    InputShapeError,
    InputValueError,
    InvalidModelError,
    UnsupportedLayerError,
)

ISAS = tfjs_infer.available_isas()
RNG = np.random.default_rng(77)


def rand(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


# -- references ---------------------------------------------------------------------


def ref_pool(x: np.ndarray, mode: str, pool, strides, same: bool) -> np.ndarray:
    """TF pooling: 'same' pads floor(total/2) before and the rest after;
    padded cells are ignored (max) or not counted (average)."""
    k = len(pool)
    spatial = x.shape[1:-1]
    outs, pads = [], []
    for size, p, s in zip(spatial, pool, strides):
        if same:
            out = math.ceil(size / s)
            total = max((out - 1) * s + p - size, 0)
            pads.append(total // 2)
        else:
            out = (size - p) // s + 1
            pads.append(0)
        outs.append(out)
    y = np.zeros((x.shape[0], *outs, x.shape[-1]), np.float64)
    for idx in itertools.product(*(range(o) for o in outs)):
        sl = []
        for i in range(k):
            lo = idx[i] * strides[i] - pads[i]
            sl.append(slice(max(lo, 0), min(lo + pool[i], spatial[i])))
        win = x[(slice(None), *sl, slice(None))].astype(np.float64)
        win = win.reshape(x.shape[0], -1, x.shape[-1])
        y[(slice(None), *idx, slice(None))] = win.max(axis=1) if mode == "max" else win.mean(axis=1)
    return y


def ref_taps(in_size: int, out_size: int, half_pixel: bool, nearest: bool):
    """Source indices and weights along one axis (TF half-pixel, or TF.js's
    legacy asymmetric src = dst * in / out)."""
    scale = in_size / out_size
    taps = []
    for o in range(out_size):
        if nearest:
            src = (o + 0.5) * scale if half_pixel else o * scale
            i = min(max(math.floor(src), 0), in_size - 1)
            taps.append((i, i, 0.0))
        else:
            src = (o + 0.5) * scale - 0.5 if half_pixel else o * scale
            lo = max(math.floor(src), 0)
            hi = min(math.ceil(src), in_size - 1)
            frac = src - math.floor(src) if half_pixel else src - lo
            taps.append((lo, hi, frac))
    return taps


def ref_resize(x: np.ndarray, oh: int, ow: int, half_pixel: bool, nearest: bool) -> np.ndarray:
    th = ref_taps(x.shape[1], oh, half_pixel, nearest)
    tw = ref_taps(x.shape[2], ow, half_pixel, nearest)
    xd = x.astype(np.float64)
    y = np.zeros((x.shape[0], oh, ow, x.shape[3]))
    for r, (t0, t1, fy) in enumerate(th):
        for c, (l0, l1, fx) in enumerate(tw):
            top = xd[:, t0, l0] + (xd[:, t0, l1] - xd[:, t0, l0]) * fx
            bot = xd[:, t1, l0] + (xd[:, t1, l1] - xd[:, t1, l0]) * fx
            y[:, r, c] = top + (bot - top) * fy
    return y


def smart_window(h: int, w: int, th: int, tw: int) -> tuple[int, int, int, int]:
    """Keras smart_resize: the largest centred window with the target's aspect ratio."""
    ch = max(min(h, int(np.float32(w * th) / np.float32(tw))), 1)
    cw = max(min(w, int(np.float32(h * tw) / np.float32(th))), 1)
    return (h - ch) // 2, ch, (w - cw) // 2, cw


# -- pool ----------------------------------------------------------------------------

pool_cases = st.integers(1, 3).flatmap(
    lambda k: st.tuples(
        st.just(k),
        st.lists(st.integers(1, 9), min_size=k, max_size=k),
        st.lists(st.integers(1, 4), min_size=k, max_size=k),
        st.lists(st.integers(1, 3), min_size=k, max_size=k),
        st.booleans(),
        st.sampled_from(["max", "avg"]),
        st.integers(1, 3),
        st.integers(1, 37),
    )
)


@settings(max_examples=120, deadline=None)
@given(pool_cases)
def test_pool_matches_numpy(case) -> None:
    _, spatial, pool, strides, same, mode, n, c = case
    assume(same or all(s >= p for s, p in zip(spatial, pool)))
    x = rand(n, *spatial, c)
    attrs = {
        "mode": mode,
        "pool_size": pool,
        "strides": strides,
        "padding": "same" if same else "valid",
    }
    want = ref_pool(x, mode, pool, strides, same)
    for isa in ISAS:
        (got,) = run_op("pool", [x], attrs, isa=isa)
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


@settings(max_examples=60, deadline=None)
@given(pool_cases)
def test_pool_simd_is_bitwise_generic(case) -> None:
    """The SIMD kernels visit window cells in the generic kernel's order."""
    _, spatial, pool, strides, same, mode, n, c = case
    assume(same or all(s >= p for s, p in zip(spatial, pool)))
    x = rand(n, *spatial, c)
    attrs = {
        "mode": mode,
        "pool_size": pool,
        "strides": strides,
        "padding": "same" if same else "valid",
    }
    (ref,) = run_op("pool", [x], attrs, isa="generic")
    for isa in ISAS:
        (got,) = run_op("pool", [x], attrs, isa=isa, num_threads=2)
        np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("c", [16, 32, 33, 47, 48, 80, 96, 100, 112])
@pytest.mark.parametrize("mode", ["max", "avg"])
def test_pool_channel_blocks_bitwise_generic(c: int, mode: str) -> None:
    """Channel counts that the SIMD kernels cut into blocks of 4, 2 and 1
    vectors and a tail (AVX-512: 100 = 64 + 32 + 4; AVX2: 47 = 32 + 8 + 7),
    NaN cells included: the generic kernel's bits."""
    x = rand(2, 9, 7, c)
    x[0, 1, 2, ::3] = np.nan
    attrs = {"mode": mode, "pool_size": [2, 3], "strides": [2, 2], "padding": "same"}
    (ref,) = run_op("pool", [x], attrs, isa="generic")
    np.testing.assert_allclose(
        ref[1], ref_pool(x, mode, [2, 3], [2, 2], True)[1], rtol=1e-6, atol=1e-6
    )
    for isa in ISAS:
        (got,) = run_op("pool", [x], attrs, isa=isa)
        np.testing.assert_array_equal(got, ref)


def test_pool_max_skips_nan() -> None:
    # TF.js's pool kernel keeps the running max when a NaN arrives.
    x = np.array([[[1.0], [np.nan], [3.0], [np.nan]]], np.float32)
    for isa in ISAS:
        (got,) = run_op("pool", [x], {"mode": "max", "pool_size": [2], "strides": [2]}, isa=isa)
        np.testing.assert_array_equal(got.ravel(), [1.0, 3.0])


def test_pool_odd_same_stride2_puts_extra_padding_after() -> None:
    # 1 x 5 x 1: same, pool 2, stride 2 -> windows [0,1], [2,3], [4] (pad after only).
    x = np.array([[[1], [2], [3], [4], [5]]], np.float32)
    (avg,) = run_op(
        "pool", [x], {"mode": "avg", "pool_size": [2], "strides": [2], "padding": "same"}
    )
    np.testing.assert_array_equal(avg.ravel(), [1.5, 3.5, 5.0])
    # pool 3 stride 2 on 5: total padding 2 -> one before, one after.
    (mx,) = run_op(
        "pool", [x], {"mode": "max", "pool_size": [3], "strides": [2], "padding": "same"}
    )
    np.testing.assert_array_equal(mx.ravel(), [2, 4, 5])


def test_pool_threads_bitwise_equal() -> None:
    x = rand(3, 33, 29, 24)
    attrs = {"mode": "avg", "pool_size": [3, 3], "strides": [2, 2], "padding": "same"}
    (one,) = run_op("pool", [x], attrs, num_threads=1)
    (two,) = run_op("pool", [x], attrs, num_threads=2)
    (row,) = run_op("pool", [x[1:2]], attrs, num_threads=2)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(one[1:2], row)


def test_pool_valid_larger_than_input_is_an_error() -> None:
    attrs = {"mode": "max", "pool_size": [4, 2], "strides": [1, 1]}
    # Fixed spatial sizes: refused when the model is compiled.
    with pytest.raises(InvalidModelError, match="larger than the input size 3"):
        run_op("pool", [rand(1, 3, 5, 2)], attrs)
    # Unknown spatial sizes: refused at predict, naming the layer.
    g = _core.Graph()
    x = g.add_input("x", [None, None, None, 2], "float32")
    g.set_outputs(g.add_op("pool", "pool_layer", [x], attrs, {}))
    model = _core.CompiledModel(g, isa="", num_threads=1, optimize=False)
    np.testing.assert_array_equal(model.run([rand(1, 4, 5, 2)])[0].shape, (1, 1, 4, 2))
    with pytest.raises(InputShapeError, match=r"pool_layer.*larger than the input size 3"):
        model.run([rand(1, 3, 5, 2)])


@pytest.mark.parametrize(
    "attrs",
    [
        {"mode": "min", "pool_size": [2], "strides": [2]},
        {"mode": "max", "pool_size": [0], "strides": [1]},
        {"mode": "max", "pool_size": [2, 2], "strides": [1]},
        {"mode": "max", "pool_size": [2], "strides": [2], "padding": "causal"},
        {"mode": "max", "pool_size": [1, 1, 1, 1], "strides": [1, 1, 1, 1]},
    ],
)
def test_pool_bad_attrs(attrs) -> None:
    with pytest.raises(InvalidModelError):
        run_op("pool", [rand(1, 4, 2)], attrs)


# -- global pool ----------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 3),
    st.lists(st.integers(1, 7), min_size=1, max_size=3),
    st.integers(1, 150),
    st.sampled_from(["max", "avg"]),
    st.booleans(),
    st.booleans(),
)
def test_global_pool_matches_numpy(n, spatial, c, mode, keepdims, channels_first) -> None:
    k = len(spatial)
    x = rand(n, c, *spatial) if channels_first else rand(n, *spatial, c)
    axes = tuple(range(2, 2 + k)) if channels_first else tuple(range(1, 1 + k))
    red = np.max if mode == "max" else np.mean
    want = red(x.astype(np.float64), axis=axes, keepdims=keepdims)
    attrs = {"mode": mode, "keepdims": int(keepdims), "channels_first": int(channels_first)}
    for isa in ISAS:
        (got,) = run_op("global_pool", [x], attrs, isa=isa)
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_global_average_of_a_long_sequence_is_accurate() -> None:
    x = (RNG.standard_normal((2, 20000, 3)) + 1000).astype(np.float32)
    (got,) = run_op("global_pool", [x], {"mode": "avg"})
    np.testing.assert_allclose(got, x.astype(np.float64).mean(axis=1), rtol=1e-7)


# -- pad / crop, upsample --------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.integers(1, 6), min_size=2, max_size=4),
    st.data(),
)
def test_pad_and_crop_match_numpy(shape, data) -> None:
    x = rand(2, *shape)
    rank = x.ndim
    begin, end = [], []
    for d in shape:
        b = data.draw(st.integers(-(d - 1), 3))
        e = data.draw(st.integers(-(d - 1 + min(b, 0)), 3))
        begin.append(b)
        end.append(e)
    padded = np.pad(x, [(0, 0)] + [(max(b, 0), max(e, 0)) for b, e in zip(begin, end)])
    sl = [slice(None)] + [
        slice(max(-b, 0), padded.shape[i + 1] - max(-e, 0))
        for i, (b, e) in enumerate(zip(begin, end))
    ]
    want = padded[tuple(sl)]
    assert want.ndim == rank
    (got,) = run_op("pad", [x], {"begin": begin, "end": end}, num_threads=2)
    np.testing.assert_array_equal(got, want)


def test_crop_everything_is_an_error() -> None:
    with pytest.raises(InvalidModelError, match="removes every one"):
        run_op("pad", [rand(1, 3, 4, 2)], {"begin": [-2, 0, 0], "end": [-1, 0, 0]})


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 5), st.integers(1, 3)), min_size=1, max_size=4))
def test_upsample_matches_repeat(dims) -> None:
    x = rand(2, *(d for d, _ in dims))
    want = x
    for axis, (_, r) in enumerate(dims, start=1):
        want = np.repeat(want, r, axis=axis)
    (got,) = run_op("upsample", [x], {"repeats": [r for _, r in dims]}, num_threads=2)
    np.testing.assert_array_equal(got, want)


def test_upsample_and_pad_large_on_two_threads() -> None:
    # Big enough to split rows over two threads (repeated rows are copied
    # from the row above only within one thread's range).
    x = rand(3, 41, 50, 64)
    (got,) = run_op("upsample", [x], {"repeats": [3, 2, 1]}, num_threads=2)
    np.testing.assert_array_equal(got, np.repeat(np.repeat(x, 3, axis=1), 2, axis=2))
    (got,) = run_op("pad", [x], {"begin": [2, -1, 0], "end": [1, 3, 0]}, num_threads=2)
    np.testing.assert_array_equal(got, np.pad(x, [(0, 0), (2, 1), (0, 3), (0, 0)])[:, :, 1:])


# -- resize ------------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(
    st.integers(1, 9),
    st.integers(1, 9),
    st.integers(1, 13),
    st.integers(1, 13),
    st.integers(1, 5),
    st.sampled_from(["nearest", "bilinear"]),
    st.booleans(),
)
def test_resize_matches_numpy(ih, iw, oh, ow, c, method, half_pixel) -> None:
    x = rand(2, ih, iw, c)
    attrs = {
        "method": method,
        "coords": "half_pixel" if half_pixel else "asymmetric",
        "size": [oh, ow],
    }
    want = x if (ih, iw) == (oh, ow) else ref_resize(x, oh, ow, half_pixel, method == "nearest")
    for isa in ISAS:
        (got,) = run_op("resize", [x], attrs, isa=isa)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_resize_legacy_bilinear_row() -> None:
    # A 4 -> 8 bilinear UpSampling2D of 0..3 by real TF.js (asymmetric mapping) and
    # real tf_keras (half-pixel centres): tests/fixtures/upsampling_row/make_*.
    refs = Path(__file__).resolve().parents[1] / "fixtures" / "upsampling_row"
    want = {k: json.loads((refs / f"{k}.json").read_text()) for k in ("tfjs", "keras")}
    x = np.asarray(want["tfjs"]["input"], dtype=np.float32).reshape(1, 1, 4, 1)
    (tfjs,) = run_op("resize", [x], {"method": "bilinear", "coords": "asymmetric", "scale": [1, 2]})
    (keras,) = run_op(
        "resize", [x], {"method": "bilinear", "coords": "half_pixel", "scale": [1, 2]}
    )
    np.testing.assert_allclose(tfjs.ravel(), want["tfjs"]["output"])
    np.testing.assert_allclose(keras.ravel(), want["keras"]["output"])


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 12), st.integers(1, 12), st.integers(1, 8), st.integers(1, 8))
def test_resize_crop_modes_match_numpy(h, w, th, tw) -> None:
    x = rand(1, h, w, 2)
    h0, ch, w0, cw = smart_window(h, w, th, tw)
    win = x[:, h0 : h0 + ch, w0 : w0 + cw]
    aspect = win if (ch, cw) == (th, tw) else ref_resize(win, th, tw, True, False)
    (got,) = run_op("resize", [x], {"method": "bilinear", "crop": "aspect", "size": [th, tw]})
    np.testing.assert_allclose(got, aspect, rtol=1e-5, atol=1e-5)
    if h >= th and w >= tw:
        center = x[:, (h - th) // 2 : (h - th) // 2 + th, (w - tw) // 2 : (w - tw) // 2 + tw]
    else:
        center = aspect
    (got,) = run_op("resize", [x], {"method": "bilinear", "crop": "center", "size": [th, tw]})
    np.testing.assert_allclose(got, center, rtol=1e-5, atol=1e-5)


def test_resize_unsupported_interpolation() -> None:
    with pytest.raises(UnsupportedLayerError, match="bicubic"):
        run_op("resize", [rand(1, 3, 3, 1)], {"method": "bicubic", "size": [4, 4]})


@pytest.mark.parametrize(
    "attrs",
    [
        {"method": "bilinear"},
        {"size": [2, 2], "scale": [2, 2]},
        {"size": [0, 3]},
        {"size": [2, 2], "crop": "x"},
    ],
)
def test_resize_bad_attrs(attrs) -> None:
    with pytest.raises(InvalidModelError):
        run_op("resize", [rand(1, 3, 3, 1)], attrs)


# -- category encoding ---------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["multi_hot", "count", "one_hot"])
def test_category_encoding_matches_numpy(mode) -> None:
    ids = RNG.integers(0, 6, size=(4, 5)).astype(np.int32)
    if mode == "one_hot":
        want = np.eye(6, dtype=np.float32)[ids]
    else:
        want = np.zeros((4, 6), np.float32)
        for r, row in enumerate(ids):
            for i in row:
                want[r, i] = want[r, i] + 1 if mode == "count" else 1
    (got,) = run_op("category_encoding", [ids], {"num_tokens": 6, "mode": mode})
    np.testing.assert_array_equal(got, want)
    (got,) = run_op(
        "category_encoding", [ids.astype(np.float32) + 0.5], {"num_tokens": 6, "mode": mode}
    )
    np.testing.assert_array_equal(got, want)


def test_category_encoding_out_of_range() -> None:
    with pytest.raises(InputValueError, match=r"value 6 .* not in \[0, 5\]"):
        run_op(
            "category_encoding",
            [np.array([[1, 6]], np.int32)],
            {"num_tokens": 6, "mode": "multi_hot"},
        )
    with pytest.raises(InputValueError, match="value -1"):
        run_op(
            "category_encoding",
            [np.array([[-1.5]], np.float32)],
            {"num_tokens": 6, "mode": "count"},
        )
