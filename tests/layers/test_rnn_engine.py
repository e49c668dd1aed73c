"""The rnn op's internal paths that the small fixtures do not reach: long
sequences whose input projection is computed in chunks of steps (scratch is
bounded), masked rows inside a multi-row block, and the one-row GEMV against
the batched GEMM. A row's result must be bitwise the same on every path (the
fixture tests check the numbers themselves against TF.js and Keras). Every
test runs with the LSTM / SimpleRNN step fused and not (TFJS_INFER_RNN_FUSED,
tests/layers/test_rnn_fused.py): only the unfused path projects in chunks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tfjs_infer


@pytest.fixture(autouse=True, params=["0", "1"], ids=lambda v: f"fused={v}")
def _fused(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TFJS_INFER_RNN_FUSED", request.param)


def _model(folder: Path, cls: str, units: int, steps: int, feats: int, **cfg: Any) -> Path:
    gates = {"LSTM": 4, "GRU": 3, "SimpleRNN": 1}[cls]
    rng = np.random.default_rng(0)
    w = {
        "rnn/kernel": rng.uniform(-1, 1, (feats, gates * units)) * np.sqrt(3 / feats),
        "rnn/recurrent_kernel": rng.uniform(-1, 1, (units, gates * units)) * np.sqrt(3 / units),
        "rnn/bias": rng.uniform(-0.5, 0.5, gates * units),
    }
    layers = [
        {
            "class_name": "Masking",
            "config": {
                "name": "mask",
                "mask_value": 0.0,
                "batch_input_shape": [None, steps, feats],
            },
        },
        {
            "class_name": cls,
            "config": {
                "name": "rnn",
                "units": units,
                "activation": "tanh",
                "recurrent_activation": "sigmoid",
                **cfg,
            },
        },
    ]
    folder.mkdir(parents=True, exist_ok=True)
    specs = [{"name": k, "shape": list(v.shape), "dtype": "float32"} for k, v in w.items()]
    doc = {
        "format": "layers-model",
        "modelTopology": {"class_name": "Sequential", "config": {"name": "m", "layers": layers}},
        "weightsManifest": [{"paths": ["w.bin"], "weights": specs}],
    }
    (folder / "model.json").write_text(json.dumps(doc))
    (folder / "w.bin").write_bytes(
        b"".join(np.asarray(v, np.float32).tobytes() for v in w.values())
    )
    return folder / "model.json"


@pytest.mark.parametrize(
    ("cls", "cfg"),
    [
        ("LSTM", {"return_sequences": True, "go_backwards": True}),
        ("GRU", {"reset_after": False}),
        ("SimpleRNN", {"return_sequences": True}),
    ],
)
def test_chunked_projection_and_masks_are_bitwise_stable(
    tmp_path: Path, cls: str, cfg: dict
) -> None:
    # 40 rows x 300 steps x 4 gates x 128 units exceeds the projection buffer
    # (4M floats): the batch of 40 projects in chunks, a single row does not.
    steps, feats = 300, 8
    model = tfjs_infer.load_model(_model(tmp_path, cls, 128, steps, feats, **cfg))
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (40, steps, feats)).astype(np.float32)
    x[rng.random((40, steps)) < 0.2] = 0.0  # masked steps scattered through the block
    x[3] = 0.0  # a row masked everywhere
    full = model.predict(x, batch_size=40)
    assert np.isfinite(full).all()
    one = np.concatenate([model.predict(x[i : i + 1], batch_size=1) for i in range(0, 40, 7)])
    np.testing.assert_array_equal(one, full[0:40:7])
    for threads in (1, 2):
        model.num_threads = threads
        np.testing.assert_array_equal(model.predict(x, batch_size=13), full)
