"""JSON answers: float32 values read back bitwise (whichever encoder wrote them),
and NaN / infinity are written as the NaN / Infinity tokens TF Serving writes."""

from __future__ import annotations

import json

import numpy as np

from tfjs_infer.serve.codec import all_finite, dump_json


def _float32_values() -> np.ndarray:
    rng = np.random.default_rng(5)
    bits = rng.integers(0, 2**32, size=20000, dtype=np.uint64).astype(np.uint32)
    x = bits.view(np.float32)
    x = x[np.isfinite(x)]
    edge = [0.0, -0.0, 1e-45, -1e-45, 1.1754942e-38, 1.1754944e-38, 3.4028235e38, 0.1, 1 / 3]
    return np.concatenate([x, np.array(edge, np.float32)])


def test_finite_float32_answers_read_back_bitwise() -> None:
    x = _float32_values()
    assert all_finite([x])
    for finite in (True, False):  # orjson (when installed) and the standard encoder
        text = dump_json({"predictions": x.tolist()}, finite=finite)
        back = np.asarray(json.loads(text)["predictions"], dtype=np.float32)
        assert (back.view(np.uint32) == x.view(np.uint32)).all()


def test_non_finite_values_are_written_as_tokens() -> None:
    x = np.array([1.5, np.nan, np.inf, -np.inf], np.float32)
    assert not all_finite([np.zeros(3, np.int32), x])
    text = dump_json({"outputs": x.tolist()}, finite=all_finite([x]))
    assert text == b'{"outputs":[1.5,NaN,Infinity,-Infinity]}'
