"""Build the fixed model set of bench/compare.py and write every engine's file.

Each model is a tf_keras (Keras 2) model with seeded weights (BatchNorm
statistics away from 0/1 so that a wrong fold shows), saved as

    bench/.models/<name>/model.h5        Keras (loaded by Keras 3 in compare.py's Keras worker)
    bench/.models/<name>/tfjs/model.json TF.js LayersModel (tensorflowjs converter), for
                                         tfjs-infer and TF.js
    bench/.models/<name>/model.onnx      tf2onnx (opset 17), for onnxruntime
    bench/.models/<name>/model.tflite    TFLiteConverter (float32, no optimizations), for LiteRT
    bench/.models/<name>/meta.json       input name/shape/dtype, what was written, errors

A converter that fails leaves its file out and says why in meta.json; compare.py
then prints that peer as "no model file". Run with the Python that has
TensorFlow 2.x, tf_keras, tensorflowjs and tf2onnx (see bench/README.md):

    TF_USE_LEGACY_KERAS=1 /path/to/tf-python bench/make_bench_models.py [--only mlp,lstm]
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import sys
import time
import traceback
import types
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np

OUT = Path(__file__).resolve().parent / ".models"


def import_tensorflowjs():
    """tensorflowjs's converter without its SavedModel/JAX extras (unused for
    Keras files; stand-in modules fill the imports it makes at load)."""
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
    # tensorflowjs 4.22's read_weights names np.object, gone in numpy 2 (TF
    # 2.20 installs numpy 2): the builtin it aliased stands in.
    if "object" not in np.__dict__:
        setattr(np, "object", object)  # noqa: B010
    from tensorflowjs.converters import converter

    return converter


import tensorflow as tf  # noqa: E402

keras = tf.keras
layers = keras.layers


def seeded_weights(model, seed: int) -> None:
    """Seeded weights: He-scaled kernels (deep nets stay finite), small
    biases, BatchNorm statistics clearly away from 0 and 1."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        ws = layer.get_weights()
        if not ws:
            continue
        names = [w.name.split("/")[-1].split(":")[0] for w in layer.weights]
        new = []
        for name, w in zip(names, ws):
            if name in ("kernel", "depthwise_kernel", "recurrent_kernel"):
                fan_in = int(np.prod(w.shape[:-1])) if w.ndim > 1 else 1
                if name == "depthwise_kernel":
                    fan_in = int(np.prod(w.shape[:2]))
                v = rng.normal(0.0, np.sqrt(1.0 / fan_in), w.shape)
            elif name == "embeddings":
                v = rng.normal(0.0, 0.5, w.shape)
            elif name == "bias":
                v = rng.normal(0.0, 0.05, w.shape)
            elif name == "gamma":
                v = rng.uniform(0.7, 1.3, w.shape)
            elif name == "beta":
                v = rng.normal(0.0, 0.1, w.shape)
            elif name == "moving_mean":
                v = rng.normal(0.0, 0.2, w.shape)
            elif name == "moving_variance":
                v = rng.uniform(0.6, 1.6, w.shape)
            else:
                raise ValueError(f"no rule for weight {layer.name}/{name}")
            new.append(v.astype(np.float32))
        layer.set_weights(new)


# -- the model set -----------------------------------------------------------------
def mlp():
    model = keras.Sequential(
        [
            keras.Input((784,), name="pixels"),
            layers.Dense(512, activation="relu"),
            layers.Dense(512, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ],
        name="mlp",
    )
    return model, "MLP 784-512-512-10"


def mnist_cnn():
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1), name="image"),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ],
        name="mnist_cnn",
    )
    return model, "MNIST CNN (Conv32-Pool-Conv64-Pool-Dense128-10)"


def mobilenet_v2():
    model = keras.applications.MobileNetV2(input_shape=(224, 224, 3), alpha=1.0, weights=None)
    return model, "MobileNetV2 1.0 224 (keras.applications, seeded weights)"


def mobilenet_v1_025():
    model = keras.applications.MobileNet(input_shape=(224, 224, 3), alpha=0.25, weights=None)
    return model, "MobileNetV1 0.25 224 (keras.applications, seeded weights)"


def resnet50():
    model = keras.applications.ResNet50(input_shape=(224, 224, 3), weights=None)
    return model, "ResNet50 224 (keras.applications, seeded weights)"


def lstm():
    model = keras.Sequential(
        [
            keras.Input((50, 32), name="sequence"),
            layers.LSTM(128),
            layers.Dense(10, activation="softmax"),
        ],
        name="lstm",
    )
    return model, "LSTM(128) over 50 steps of 32 features, Dense 10"


def text_cnn():
    model = keras.Sequential(
        [
            keras.Input((200,), dtype="int32", name="tokens"),
            layers.Embedding(20000, 128),
            layers.Conv1D(128, 7, strides=3, activation="relu"),
            layers.Conv1D(128, 7, strides=3, activation="relu"),
            layers.GlobalMaxPooling1D(),
            layers.Dense(128, activation="relu"),
            layers.Dense(1, activation="sigmoid"),
        ],
        name="text_cnn",
    )
    return (
        model,
        "Embedding(20000,128) + 2x Conv1D(128,7,stride 3) + GlobalMaxPool + Dense, 200 tokens",
    )


MODELS = {
    "mlp": mlp,
    "mnist_cnn": mnist_cnn,
    "mobilenet_v1_025": mobilenet_v1_025,
    "mobilenet_v2": mobilenet_v2,
    "resnet50": resnet50,
    "lstm": lstm,
    "text_cnn": text_cnn,
}


def sample_input(name: str, shape: tuple, dtype: str, rows: int) -> np.ndarray:
    rng = np.random.default_rng(7 + sorted(MODELS).index(name))
    if dtype == "int32":
        return rng.integers(0, 20000, (rows, *shape)).astype(np.int32)
    return rng.standard_normal((rows, *shape)).astype(np.float32)


# -- writers -----------------------------------------------------------------------
def write_onnx(model, path: Path, in_name: str, in_shape: tuple, dtype: str) -> None:
    import tf2onnx

    spec = (
        tf.TensorSpec(
            (None, *in_shape), tf.int32 if dtype == "int32" else tf.float32, name=in_name
        ),
    )
    tf2onnx.convert.from_keras(model, input_signature=spec, opset=17, output_path=str(path))


def write_tflite(model, path: Path, meta: dict) -> None:
    try:
        path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
        return
    except Exception as exc:
        print(f"  tflite: dynamic batch failed ({type(exc).__name__}); writing fixed batches")
    # The fused LSTM keeps its state as a fixed-batch variable, so LiteRT
    # cannot resize the batch: one file per batch size compare.py uses.
    inp = model.inputs[0]
    fn = tf.function(lambda x: model(x, training=False))
    for batch in (1, 32, 256):
        concrete = fn.get_concrete_function(tf.TensorSpec((batch, *inp.shape[1:]), inp.dtype))
        conv = tf.lite.TFLiteConverter.from_concrete_functions([concrete], model)
        path.with_name(f"{path.stem}_b{batch}.tflite").write_bytes(conv.convert())
    meta["tflite_fixed_batches"] = [1, 32, 256]


def write_tfjs(model, h5: Path, folder: Path) -> None:
    converter = import_tensorflowjs()
    if folder.exists():
        shutil.rmtree(folder)
    converter.convert(
        [str(h5), str(folder), "--input_format=keras", "--output_format=tfjs_layers_model"]
    )


def build(name: str, out: Path) -> dict:
    tf.keras.utils.set_random_seed(1)
    model, description = MODELS[name]()
    seeded_weights(model, 1000 + sorted(MODELS).index(name))
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    inp = model.inputs[0]
    in_shape = tuple(int(d) for d in inp.shape[1:])
    dtype = "int32" if inp.dtype == tf.int32 else "float32"
    in_name = inp.name.split(":")[0]
    meta = {
        "name": name,
        "description": description,
        "input": {"name": in_name, "shape": in_shape, "dtype": dtype},
        "params": int(model.count_params()),
        "files": {},
        "errors": {},
        "tools": {"tensorflow": tf.__version__},
    }
    # 32 rows at most (ResNet50 inputs are 600 KB a row); compare.py tiles them.
    x = sample_input(name, in_shape, dtype, 32)
    np.save(folder / "input.npy", x)
    h5 = folder / "model.h5"
    model.save(h5)
    meta["files"]["keras"] = "model.h5"
    writers = {
        "tfjs": ("tfjs/model.json", lambda: write_tfjs(model, h5, folder / "tfjs")),
        "onnx": (
            "model.onnx",
            lambda: write_onnx(model, folder / "model.onnx", in_name, in_shape, dtype),
        ),
        "tflite": ("model.tflite", lambda: write_tflite(model, folder / "model.tflite", meta)),
    }
    for key, (rel, fn) in writers.items():
        t = time.perf_counter()
        try:
            fn()
            meta["files"][key] = rel
            print(f"  {key}: {rel} ({time.perf_counter() - t:.1f} s)")
        except Exception as exc:  # a converter's failure is reported, not fatal
            meta["errors"][key] = f"{type(exc).__name__}: {exc}"[:500]
            print(f"  {key}: FAILED {meta['errors'][key][:200]}")
            traceback.print_exc(limit=2)
    (folder / "meta.json").write_text(json.dumps(meta, indent=1))
    return meta


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="", help="comma-separated subset of " + ",".join(MODELS))
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    names = [n for n in MODELS if not args.only or n in args.only.split(",")]
    for name in names:
        print(f"{name}:")
        build(name, args.out)


if __name__ == "__main__":
    main()
