"""Keras 3 side of bench/compare.py, run in its own process by the Python that
has Keras 3 (TensorFlow backend): `predict` and the direct call `model(x)`.

    python bench/keras_bench.py MODEL.h5 INPUT.npy THREADS ROUNDS IDLE_MS BATCHES(1,32,256)

Prints one JSON object (seconds): import, load, first call, batch-1 samples
and after-idle samples for predict and the direct call, per-batch predict
times, peak RSS, and the batch-1 output.
"""

from __future__ import annotations

import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.pop("TF_USE_LEGACY_KERAS", None)  # Keras 3, not tf_keras

import numpy as np


def compat(keras) -> dict:
    """Layer classes that accept the tf_keras config keys Keras 3 refuses
    (DepthwiseConv2D's groups=1, the RNNs' time_major=False)."""

    def dropping(base, *keys):
        def __init__(self, *args, **kwargs):
            for key in keys:
                kwargs.pop(key, None)
            base.__init__(self, *args, **kwargs)

        return type(base.__name__, (base,), {"__init__": __init__})

    layers = keras.layers
    out = {"DepthwiseConv2D": dropping(layers.DepthwiseConv2D, "groups")}
    for rnn in (layers.LSTM, layers.GRU, layers.SimpleRNN):
        out[rnn.__name__] = dropping(rnn, "time_major")
    return out


def main() -> None:
    model_path, input_path, threads, rounds, idle_ms, batches = sys.argv[1:7]
    threads, rounds, idle_s = int(threads), int(rounds), float(idle_ms) / 1e3
    t = time.perf_counter()
    import keras
    import tensorflow as tf

    # Before any op runs: the runtime reads these once.
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import_s = time.perf_counter() - t

    t = time.perf_counter()
    model = keras.saving.load_model(model_path, compile=False, custom_objects=compat(keras))
    load_s = time.perf_counter() - t

    rows = np.load(input_path)
    x1 = rows[:1]

    def predict(x: np.ndarray) -> np.ndarray:
        return np.asarray(model.predict(x, batch_size=len(x), verbose=0))

    def direct(x: np.ndarray) -> np.ndarray:
        return np.asarray(model(x, training=False))

    t = time.perf_counter()
    out = predict(x1)
    first_s = time.perf_counter() - t
    res = {
        "keras_version": keras.__version__,
        "backend": keras.backend.backend(),
        "tensorflow_version": tf.__version__,
        "import_s": import_s,
        "load_s": load_s,
        "first_s": first_s,
        "output": out.reshape(-1).tolist(),
    }
    for name, fn in (("predict", predict), ("call", direct)):
        for _ in range(3):
            fn(x1)
        b1, idle = [], []
        for _ in range(rounds):
            for _ in range(3):
                t = time.perf_counter()
                fn(x1)
                b1.append(time.perf_counter() - t)
            time.sleep(idle_s)
            t = time.perf_counter()
            fn(x1)
            idle.append(time.perf_counter() - t)
        res[name] = {"b1": b1, "idle": idle, "batches": {}}
        for n in (int(b) for b in batches.split(",") if int(b) > 1):
            xb = np.resize(rows, (n, *rows.shape[1:]))
            fn(xb)
            samples = []
            for _ in range(3):
                t = time.perf_counter()
                fn(xb)
                samples.append(time.perf_counter() - t)
            res[name]["batches"][str(n)] = samples
    # VmHWM: ru_maxrss would include the parent's peak (kept across fork+exec).
    with open("/proc/self/status") as f:
        hwm = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    res["peak_rss_bytes"] = hwm * 1024
    sys.stdout.write(json.dumps(res))


if __name__ == "__main__":
    main()
