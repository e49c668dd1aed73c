"""JSON answers: float32 values read back bitwise (whichever encoder wrote them),
and NaN / infinity are written as the NaN / Infinity tokens TF Serving writes."""

from __future__ import annotations

import json

import numpy as np

from tfjs_infer.serve.codec import dump_json


def _float32_values() -> np.ndarray:
    rng = np.random.default_rng(5)
    bits = rng.integers(0, 2**32, size=20000, dtype=np.uint64).astype(np.uint32)
    x = bits.view(np.float32)
    x = x[np.isfinite(x)]
    edge = [0.0, -0.0, 1e-45, -1e-45, 1.1754942e-38, 1.1754944e-38, 3.4028235e38, 0.1, 1 / 3]
    return np.concatenate([x, np.array(edge, np.float32)])


def test_finite_float32_answers_read_back_bitwise() -> None:
    x = _float32_values()
    # A null in the answer hands it to the standard encoder: both encoders are checked.
    for extra in ({}, {"id": None}):
        text = dump_json({"predictions": x.tolist(), **extra})
        back = json.loads(text)
        assert back.get("id", "absent") == extra.get("id", "absent")
        back_x = np.asarray(back["predictions"], dtype=np.float32)
        assert (back_x.view(np.uint32) == x.view(np.uint32)).all()


def test_non_finite_values_are_written_as_tokens() -> None:
    x = np.array([1.5, np.nan, np.inf, -np.inf], np.float32)
    assert dump_json({"outputs": x.tolist()}) == b'{"outputs":[1.5,NaN,Infinity,-Infinity]}'
    doc = {"outputs": [1.5, None], "scores": np.array([np.inf, 0.25], np.float32).tolist()}
    assert dump_json(doc) == b'{"outputs":[1.5,null],"scores":[Infinity,0.25]}'
