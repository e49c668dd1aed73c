"""Manifest decoding: byte stream across shards and groups, unaligned weights,
optimizer entries, dequantization as TF.js does it. The expected values come
from real TF.js 4.22 (tf.io.decodeWeights) on the same manifests and bytes:
tests/fixtures/tfjs_decode/decode_cases.json, made by make_decode_cases.mjs
beside it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tfjs_infer.errors import WeightsError
from tfjs_infer.io.tfjs import decode_manifest

CASES_FILE = Path(__file__).resolve().parents[1] / "fixtures" / "tfjs_decode" / "decode_cases.json"
CASES = json.loads(CASES_FILE.read_text(encoding="utf-8"))["cases"]


def _decode(groups, shards: dict[str, bytes]):
    return decode_manifest(groups, lambda p: shards[p], "test")


def _tfjs_values(rec: dict[str, Any]) -> np.ndarray:
    """What TF.js decoded, exactly: float32 from its bit patterns."""
    if rec["dtype"] == "float32":
        arr = np.asarray(rec["bits"], dtype="<u4").view("<f4")
    else:
        arr = np.asarray(rec["data"], dtype=np.int32)
    return arr.reshape(rec["shape"])


def _case(words: str) -> dict[str, Any]:
    return next(c for c in CASES if c["description"].startswith(words))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["description"].split(":")[0][:40])
def test_decodes_what_tfjs_decodes(case: dict[str, Any]) -> None:
    shards = {p: bytes(v) for p, v in case["shards"].items()}
    got = _decode(case["groups"], shards)
    specs = [w for g in case["groups"] for w in g["weights"] if w.get("group") != "optimizer"]
    names = [w["name"] for w in specs]
    assert list(got) == names, "optimizer entries are skipped, the rest kept in order"
    for name in names:
        rec = case["decoded"][name]
        want = _tfjs_values(rec)
        assert got[name].shape == want.shape, name
        if rec["dtype"] == "float32":
            assert got[name].dtype == np.float32, name
            assert got[name].view(np.uint32).tolist() == want.view(np.uint32).tolist(), name
        else:
            assert got[name].tolist() == want.tolist(), name


def test_cases_separate_the_pitfalls() -> None:
    """The TF.js values really differ from the naive computations, so the test
    above checks the TF.js way: float32 dequantization arithmetic would give 0
    for q = 20, numpy's round-half-even would give 2 for 2.5."""
    uint8 = _case("uint8 dequantization")
    q = uint8["groups"][0]["weights"][0]["quantization"]
    naive = np.float32(20) * np.float32(q["scale"]) + np.float32(q["min"])
    tfjs = _tfjs_values(uint8["decoded"]["w"])[0]
    assert naive == 0.0 and tfjs != 0.0
    rounding = _case("int32 from uint8")
    q = rounding["groups"][0]["weights"][0]["quantization"]
    halves = np.asarray(rounding["shards"]["a"][:2], np.float64) * q["scale"] + q["min"]
    assert np.round(halves).tolist() != _tfjs_values(rounding["decoded"]["w"])[:2].tolist()


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
