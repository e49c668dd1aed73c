"""Many threads calling predict on one Model: identical results, and the GIL released.

Correctness is checked bitwise against a single-threaded run (the engine's
outputs do not depend on batch size or thread count), and against TF.js's own
outputs for fixture models. The speed-up itself is measured by
bench/concurrency.py (figures, not a timed test); here we only check the
behaviour that makes it possible: other Python threads keep running while the
core computes.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import tfjs_infer as ti
from fixture_utils import FIXTURES, arrays, as_list, read_io


def mlp_model(sizes: list[int], seed: int = 0, num_threads: int | None = None) -> ti.Model:
    """A Dense/relu MLP written as a TF.js model.json with random weights, loaded from bytes."""
    rng = np.random.default_rng(seed)
    layers, entries, blobs = [], [], []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        config = {
            "units": n_out,
            "activation": "relu" if i < len(sizes) - 2 else "softmax",
            "use_bias": True,
            "name": f"d{i}",
            "dtype": "float32",
        }
        if i == 0:
            config["batch_input_shape"] = [None, n_in]
        layers.append({"class_name": "Dense", "config": config})
        kernel = (rng.standard_normal((n_in, n_out)) / np.sqrt(n_in)).astype(np.float32)
        bias = rng.standard_normal(n_out).astype(np.float32) * 0.1
        for name, arr in (("kernel", kernel), ("bias", bias)):
            entries.append({"name": f"d{i}/{name}", "shape": list(arr.shape), "dtype": "float32"})
            blobs.append(arr.tobytes())
    doc = {
        "format": "layers-model",
        "generatedBy": "tfjs-infer tests",
        "convertedBy": None,
        "modelTopology": {
            "class_name": "Sequential",
            "config": {"name": "mlp", "layers": layers},
            "keras_version": "tfjs-layers 4.22.0",
            "backend": "tensor_flow.js",
        },
        "weightsManifest": [{"paths": ["weights.bin"], "weights": entries}],
    }
    return ti.load_model(json.dumps(doc).encode(), weights=b"".join(blobs), num_threads=num_threads)


@pytest.mark.parametrize("num_threads", [1, 2])
def test_many_threads_give_identical_outputs(num_threads: int) -> None:
    model = mlp_model([48, 96, 64, 10], num_threads=num_threads)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((700, 48)).astype(np.float32)
    reference = model.predict(x, batch_size=700)  # single-threaded caller, one call
    tasks = []
    for _ in range(96):
        a = int(rng.integers(0, 650))
        b = int(rng.integers(a + 1, 701))
        tasks.append((a, b, int(rng.integers(1, 80))))  # varied batch sizes: many plans at once

    def run(task: tuple[int, int, int]) -> tuple[int, int, np.ndarray, np.ndarray]:
        a, b, bs = task
        return a, b, model.predict(x[a:b], batch_size=bs), model.predict_on_batch(x[a:b])

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(run, tasks))
    for a, b, batched, whole in results:
        np.testing.assert_array_equal(batched, reference[a:b])
        np.testing.assert_array_equal(whole, reference[a:b])


@pytest.mark.parametrize("case", ["topo_tm_style", "topo_two_in_two_out", "dense_batchnorm_dense"])
def test_threads_match_tfjs_references(case: str) -> None:
    path = FIXTURES / "tfjs" / case
    model = ti.load_model(path)
    io = read_io(path)
    xs = arrays(io["inputs"])
    refs = arrays(io["outputs"])
    x = xs[0] if len(xs) == 1 else xs
    single = as_list(model.predict(x), len(refs))

    def run(_: int) -> list[np.ndarray]:
        return as_list(model.predict(x, batch_size=3), len(refs))

    with ThreadPoolExecutor(max_workers=6) as pool:
        for got in pool.map(run, range(24)):
            for g, s, r in zip(got, single, refs):
                np.testing.assert_array_equal(g, s)
                np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-5)


def test_changing_num_threads_while_predicting_is_safe() -> None:
    model = mlp_model([32, 64, 8], seed=2)
    x = np.random.default_rng(3).standard_normal((300, 32)).astype(np.float32)
    reference = model.predict(x)
    stop = threading.Event()

    def flip() -> None:
        n = 0
        while not stop.is_set():
            model.num_threads = 1 + n % 2
            n += 1

    flipper = threading.Thread(target=flip, daemon=True)
    flipper.start()
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            outs = list(pool.map(lambda _: model.predict(x, batch_size=17), range(16)))
    finally:
        stop.set()
        flipper.join(timeout=10)
    for out in outs:
        np.testing.assert_array_equal(out, reference)


def test_the_gil_is_released_during_compute() -> None:
    """While one thread is inside a long core call, another Python thread keeps running.

    If the call held the GIL, the sampler could only run before the call starts
    (at most one switch interval); its samples could not spread over the call.
    """
    model = mlp_model([256, 1024, 1024, 1024, 16], seed=4, num_threads=1)
    x = np.random.default_rng(5).standard_normal((1024, 256)).astype(np.float32)
    model.predict_on_batch(x[:8])  # plan and workspace for a warm start
    for rows in (1024, 4096, 16384):  # 4.7 MFLOP a row: from 5 to 77 GFLOP
        xb = np.tile(x, (rows // 1024, 1))
        samples: list[float] = []
        stop = threading.Event()

        def sample(stop: threading.Event = stop, samples: list[float] = samples) -> None:
            while not stop.is_set():
                samples.append(time.perf_counter())

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        time.sleep(0.01)
        t0 = time.perf_counter()
        model.predict_on_batch(xb)
        t1 = time.perf_counter()
        stop.set()
        sampler.join(timeout=10)
        duration = t1 - t0
        switch = 0.02  # > sys.getswitchinterval() (5 ms): what a held GIL could still allow
        if duration < 5 * switch:
            continue  # too fast on this machine to tell; try the larger batch
        inside = [s for s in samples if t0 < s < t1]
        assert inside, "no other Python thread ran during the core call"
        assert max(inside) - min(inside) > duration / 2, (
            f"other threads ran only {max(inside) - min(inside):.3f} s of a {duration:.3f} s call"
        )
        return
    pytest.fail("the core call was too fast to observe; enlarge the model")
