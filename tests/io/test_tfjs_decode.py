"""Manifest decoding: byte stream across shards and groups, unaligned weights,
optimizer entries, dequantization as TF.js does it. Expected values marked
[run] were computed by TF.js 4.22 itself (TFJS-FORMAT.md section 2.2)."""

from __future__ import annotations

import numpy as np
import pytest

from tfjs_infer.errors import WeightsError
from tfjs_infer.io.tfjs import decode_manifest


def _decode(groups, shards: dict[str, bytes]):
    return decode_manifest(groups, lambda p: shards[p], "test")


def test_uint8_dequantization_is_float64_then_float32() -> None:
    # [run] TF.js gives 4.000133557724439e-13 for q=20 (float32 arithmetic would give 0.0).
    q = {"dtype": "uint8", "scale": 0.00509803940852, "min": -0.10196078817}
    groups = [
        {
            "paths": ["a"],
            "weights": [{"name": "w", "shape": [1], "dtype": "float32", "quantization": q}],
        }
    ]
    w = _decode(groups, {"a": bytes([20])})["w"]
    assert w.dtype == np.float32
    assert w[0] == np.float32(4.000133557724439e-13)


def test_int32_dequantization_rounds_half_up_like_math_round() -> None:
    # [run] Math.round: -2.5 -> -2, 2.5 -> 3 (numpy's round-half-even would give 2).
    q = {"dtype": "uint8", "scale": 0.5, "min": -3.0}
    groups = [
        {
            "paths": ["a"],
            "weights": [{"name": "w", "shape": [2], "dtype": "int32", "quantization": q}],
        }
    ]
    w = _decode(groups, {"a": bytes([1, 11])})["w"]  # -2.5 and 2.5
    assert w.dtype == np.int32
    assert w.tolist() == [-2, 3]


def test_float16_subnormal() -> None:
    # [run] 0x0001 decodes to 5.960464477539063e-08.
    q = {"dtype": "float16"}
    groups = [
        {
            "paths": ["a"],
            "weights": [{"name": "w", "shape": [], "dtype": "float32", "quantization": q}],
        }
    ]
    w = _decode(groups, {"a": b"\x01\x00"})["w"]
    assert w.shape == ()
    assert float(w) == 5.960464477539063e-08


def test_uint16_little_endian() -> None:
    q = {"dtype": "uint16", "scale": 1.0, "min": 0.0}
    groups = [
        {
            "paths": ["a"],
            "weights": [{"name": "w", "shape": [1], "dtype": "float32", "quantization": q}],
        }
    ]
    assert _decode(groups, {"a": b"\x02\x01"})["w"][0] == 258.0


def test_unaligned_float_after_uint8_and_weight_straddling_shards() -> None:
    value = np.array([1.5, -2.25], "<f4").tobytes()
    stream = bytes([7]) + value  # float32 weight at byte offset 1
    groups = [
        {
            "paths": ["s1"],
            "weights": [
                {
                    "name": "q",
                    "shape": [1],
                    "dtype": "float32",
                    "quantization": {"dtype": "uint8", "scale": 1.0, "min": 0.0},
                }
            ],
        },
        {"paths": ["s2", "s3"], "weights": [{"name": "f", "shape": [2], "dtype": "float32"}]},
    ]
    shards = {"s1": stream[:3], "s2": stream[3:6], "s3": stream[6:]}
    out = _decode(groups, shards)
    assert out["q"].tolist() == [7.0]
    assert out["f"].tolist() == [1.5, -2.25]


def test_optimizer_entries_skipped_but_consumed() -> None:
    data = np.array([9.0], "<f4").tobytes() + np.array([3], "<i4").tobytes()
    groups = [
        {
            "paths": ["a"],
            "weights": [
                {"name": "opt/m", "shape": [1], "dtype": "float32", "group": "optimizer"},
                {"name": "w", "shape": [1], "dtype": "int32"},
            ],
        }
    ]
    out = _decode(groups, {"a": data})
    assert list(out) == ["w"]
    assert out["w"].tolist() == [3]


def test_bool_weights_decode_to_int() -> None:
    groups = [{"paths": ["a"], "weights": [{"name": "b", "shape": [3], "dtype": "bool"}]}]
    assert _decode(groups, {"a": bytes([1, 0, 1])})["b"].tolist() == [1, 0, 1]


@pytest.mark.parametrize(
    ("manifest", "match"),
    [
        ({}, "list of groups"),
        ([{"paths": "a", "weights": []}], "paths"),
        ([{"paths": ["a"]}], "weights"),
        ([{"paths": [3], "weights": []}], "non-string"),
        ([{"paths": ["a"], "weights": [{"shape": [1], "dtype": "float32"}]}], "name"),
        (
            [{"paths": ["a"], "weights": [{"name": "w", "shape": [1.5], "dtype": "float32"}]}],
            "non-negative",
        ),
        ([{"paths": ["a"], "weights": [{"name": "w", "shape": [1], "dtype": "string"}]}], "string"),
    ],
)
def test_malformed_manifests(manifest, match: str) -> None:
    with pytest.raises(WeightsError, match=match):
        _decode(manifest, {"a": b"\0" * 4})
