"""Build the bundled example model ``python/tfjs_infer/examples/digits/``.

A small Keras classifier for scikit-learn's 8x8 handwritten digits
(``sklearn.datasets.load_digits``), converted to a TensorFlow.js LayersModel
with the official ``tensorflowjs`` converter.

This script needs TensorFlow; tfjs-infer itself does not. Run it from the
repository root in an environment with the fixture tools (versions pinned in
``tests/fixtures/requirements-fixtures.txt``)::

    python -m venv .venv-fixtures
    .venv-fixtures/bin/pip install -r tests/fixtures/requirements-fixtures.txt
    .venv-fixtures/bin/pip install --no-deps tensorflowjs==4.22.0
    TF_USE_LEGACY_KERAS=1 .venv-fixtures/bin/python examples/make_digits_example.py

``TF_USE_LEGACY_KERAS=1`` makes ``tf.keras`` the Keras 2 line (``tf_keras``),
which is what the converter handles.

Files written to ``python/tfjs_infer/examples/digits/``:

- ``model.json`` + ``group1-shard1of1.bin``: the converted model
  (Dense 64 relu -> Dropout 0.2 -> Dense 10 softmax; input: 64 features).
- ``samples.npz``: held-out samples never seen in training: ``x`` (float32,
  shape (N, 64), already scaled as ``pixels / 16``), ``y`` (int64 labels) and
  ``keras_probs`` (float32, shape (N, 10), Keras's predicted probabilities).
- ``example.json``: labels, the accuracy Keras measured on exactly those
  samples, and a SHA-256 of Keras's predicted classes.
- ``metadata.json``: the class names in output order (``labels``, the key
  Teachable Machine uses), so that ``model.labels`` gives them.

Training uses fixed seeds and TensorFlow's deterministic ops, so rerunning the
script on the same software versions should give the same files.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import sys
import tempfile
import types
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

SEED = 1234
N_SAMPLES = 360  # held-out samples (20 % of the 1797 digits)
REPO = Path(__file__).resolve().parent.parent
OUT_DIR = REPO / "python" / "tfjs_infer" / "examples" / "digits"


def import_tensorflowjs():
    """Import ``tensorflowjs`` in an environment without its graph-model extras.

    ``tensorflowjs/converters/__init__.py`` imports the SavedModel and JAX
    converters, which import ``tensorflow_decision_forests`` and ``jax``. Those
    are not needed to convert a Keras ``.h5`` file (and no TFDF build matches
    TF 2.21), so empty placeholder modules stand in for them when missing.
    """
    for name in (
        "tensorflow_decision_forests",
        "jax",
        "jax.experimental",
        "jax.experimental.jax2tf",
    ):
        try:
            importlib.import_module(name)
        except ImportError:
            sys.modules[name] = types.ModuleType(name)
    sys.modules["jax.experimental"].jax2tf = sys.modules["jax.experimental.jax2tf"]
    import tensorflowjs
    from tensorflowjs.converters import converter

    return tensorflowjs, converter


def main() -> None:
    import tensorflow as tf
    import tf_keras
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    keras = tf.keras
    assert keras.__name__.startswith("tf_keras"), (
        "set TF_USE_LEGACY_KERAS=1 so that tf.keras is tf_keras (Keras 2)"
    )
    tfjs, converter = import_tensorflowjs()

    keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=N_SAMPLES, random_state=SEED, stratify=y
    )

    model = keras.Sequential(
        [
            keras.Input(shape=(64,), name="pixels"),
            keras.layers.Dense(64, activation="relu", name="hidden"),
            keras.layers.Dropout(0.2, name="dropout"),
            keras.layers.Dense(10, activation="softmax", name="probs"),
        ],
        name="digits_mlp",
    )
    model.compile(
        optimizer=keras.optimizers.Adam(1e-2),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(x_train, y_train, epochs=40, batch_size=32, shuffle=True, verbose=0)

    probs = model.predict(x_test, batch_size=32, verbose=0).astype(np.float32)
    pred = probs.argmax(axis=1)
    accuracy = float((pred == y_test).mean())
    pred_sha = hashlib.sha256(pred.astype("<i4").tobytes()).hexdigest()

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for old in OUT_DIR.glob("group*-shard*"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        h5_path = os.path.join(tmp, "digits.h5")
        model.save(h5_path, save_format="h5", include_optimizer=False)
        converter.dispatch_keras_h5_to_tfjs_layers_model_conversion(
            h5_path, output_dir=str(OUT_DIR)
        )

    np.savez_compressed(OUT_DIR / "samples.npz", x=x_test, y=y_test, keras_probs=probs)
    info = {
        "labels": [str(i) for i in range(10)],
        "keras_accuracy": accuracy,
        "keras_predictions_sha": pred_sha,
        "keras_predictions_sha_of": (
            "sha256 of argmax(keras_probs, axis=1) as little-endian int32 bytes"
        ),
        "num_samples": len(y_test),
        "description": (
            "8x8 handwritten digits classifier (scikit-learn load_digits), "
            "Dense(64, relu) -> Dropout(0.2) -> Dense(10, softmax), trained with "
            f"tf_keras {tf_keras.__version__} (seed {SEED}) on {len(y_train)} digits and "
            f"converted by tensorflowjs {tfjs.__version__}; samples.npz holds "
            f"{len(y_test)} held-out digits"
        ),
        "input_scaling": "x / 16",
    }
    (OUT_DIR / "example.json").write_text(json.dumps(info, indent=2) + "\n")
    metadata = {"modelName": "digits_mlp", "labels": info["labels"]}
    (OUT_DIR / "metadata.json").write_text(json.dumps(metadata, indent=2) + "\n")
    total = sum(p.stat().st_size for p in OUT_DIR.iterdir() if p.is_file())
    print(
        f"wrote {OUT_DIR} ({total} bytes); Keras accuracy on {len(y_test)} "
        f"held-out samples: {accuracy:.4f}"
    )


if __name__ == "__main__":
    main()
