"""Sequence-model benchmark (issue 5): predict latency of tfjs_infer beside
onnxruntime (the same weights, built with the onnx helper API) and TF.js's
wasm backend (bench/tfjs_wasm_bench.cjs in its own Node process, when NODE_PATH
reaches @tensorflow/tfjs-backend-wasm), medians of interleaved rounds.

Models (TF.js model.json written here, seeded weights):
  lstm_50x32       LSTM(128) over 50 steps of 32 features (the latency target)
  text_generator   LSTM(128) over 40 steps of 60 features -> Dense(60, softmax)
  classifier       Embedding(5000, 64, mask_zero) -> Bidirectional(LSTM(64, seq))
                   -> GRU(64) -> Dense(2, softmax), 80 steps (ids without padding)

    python bench/bench_rnn.py [--threads 1] [--rounds 21] [--no-tfjs]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
from pathlib import Path

import _harness
import numpy as np
from _harness import header, interleaved

import tfjs_infer

HERE = Path(__file__).resolve().parent


# -- model writing --------------------------------------------------------------------


class Writer:
    """Collects TF.js layer configs and weights; writes model.json + weights.bin."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.layers: list[dict] = []
        self.specs: list[dict] = []
        self.blobs: list[bytes] = []
        self.w: dict[str, np.ndarray] = {}

    def weight(self, name: str, shape: tuple[int, ...], scale: float) -> np.ndarray:
        arr = (self.rng.uniform(-1, 1, shape) * scale).astype(np.float32)
        self.specs.append({"name": name, "shape": list(shape), "dtype": "float32"})
        self.blobs.append(arr.tobytes())
        self.w[name] = arr
        return arr

    def cell(self, prefix: str, gates: int, inputs: int, units: int) -> None:
        self.weight(f"{prefix}/kernel", (inputs, gates * units), np.sqrt(3 / inputs))
        self.weight(f"{prefix}/recurrent_kernel", (units, gates * units), np.sqrt(3 / units))
        self.weight(f"{prefix}/bias", (gates * units,), 0.5)

    def write(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        doc = {
            "format": "layers-model",
            "modelTopology": {
                "class_name": "Sequential",
                "config": {"name": "m", "layers": self.layers},
            },
            "weightsManifest": [{"paths": ["weights.bin"], "weights": self.specs}],
        }
        (folder / "model.json").write_text(json.dumps(doc))
        (folder / "weights.bin").write_bytes(b"".join(self.blobs))


def rnn_config(name: str, units: int, **extra) -> dict:
    cfg = {
        "name": name,
        "units": units,
        "activation": "tanh",
        "recurrent_activation": "sigmoid",
        "use_bias": True,
        "return_sequences": False,
        "go_backwards": False,
        "stateful": False,
    }
    cfg.update(extra)
    return cfg


def lstm_model(folder: Path, steps: int, features: int, units: int, dense: int | None) -> Writer:
    w = Writer(1)
    cfg = rnn_config("lstm", units, batch_input_shape=[None, steps, features])
    w.layers.append({"class_name": "LSTM", "config": cfg})
    w.cell("lstm", 4, features, units)
    if dense:
        w.layers.append(
            {
                "class_name": "Dense",
                "config": {
                    "name": "dense",
                    "units": dense,
                    "activation": "softmax",
                    "use_bias": True,
                },
            }
        )
        w.weight("dense/kernel", (units, dense), np.sqrt(3 / units))
        w.weight("dense/bias", (dense,), 0.5)
    w.write(folder)
    return w


def classifier_model(folder: Path, steps: int, vocab: int, emb: int, units: int) -> Writer:
    w = Writer(2)
    w.layers.append(
        {
            "class_name": "Embedding",
            "config": {
                "name": "emb",
                "input_dim": vocab,
                "output_dim": emb,
                "mask_zero": True,
                "batch_input_shape": [None, steps],
            },
        }
    )
    w.weight("emb/embeddings", (vocab, emb), 1.0)
    inner = {"class_name": "LSTM", "config": rnn_config("lstm", units, return_sequences=True)}
    w.layers.append(
        {
            "class_name": "Bidirectional",
            "config": {"name": "bidi", "layer": inner, "merge_mode": "concat"},
        }
    )
    w.cell("bidi/forward_lstm", 4, emb, units)
    w.cell("bidi/backward_lstm", 4, emb, units)
    w.layers.append({"class_name": "GRU", "config": rnn_config("gru", units)})
    w.cell("gru", 3, 2 * units, units)
    w.layers.append(
        {
            "class_name": "Dense",
            "config": {"name": "dense", "units": 2, "activation": "softmax", "use_bias": True},
        }
    )
    w.weight("dense/kernel", (units, 2), np.sqrt(3 / units))
    w.weight("dense/bias", (2,), 0.5)
    w.write(folder)
    return w


# -- the same models in onnxruntime ----------------------------------------------------------


def _onnx_lstm_weights(k: np.ndarray, r: np.ndarray, b: np.ndarray, units: int):
    """Keras gate blocks i f c o -> ONNX i o f c; (in, 4u) -> (4u, in)."""

    def order(a: np.ndarray) -> np.ndarray:
        i, f, c, o = np.split(a, 4, axis=-1)
        return np.concatenate([i, o, f, c], axis=-1)

    return order(k).T, order(r).T, np.concatenate([order(b), np.zeros(4 * units, np.float32)])


def ort_session(w: Writer, kind: str, threads: int, units: int):
    try:
        import onnxruntime  # noqa: F401  (installed?)
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        return None
    nodes, inits = [], []

    def init(name: str, arr: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr, np.float32), name))
        return name

    def const_i64(name: str, vals: list[int]) -> str:
        inits.append(numpy_helper.from_array(np.array(vals, np.int64), name))
        return name

    def lstm(x: str, prefixes: list[str], out: str, seq: bool) -> str:
        ws, rs, bs = zip(
            *(
                _onnx_lstm_weights(
                    w.w[f"{p}/kernel"], w.w[f"{p}/recurrent_kernel"], w.w[f"{p}/bias"], units
                )
                for p in prefixes
            )
        )
        d = len(prefixes)
        nodes.append(helper.make_node("Transpose", [x], [out + "_tm"], perm=[1, 0, 2]))
        nodes.append(
            helper.make_node(
                "LSTM",
                [
                    out + "_tm",
                    init(out + "_W", np.stack(ws)),
                    init(out + "_R", np.stack(rs)),
                    init(out + "_B", np.stack(bs)),
                ],
                [out + "_Y", out + "_Yh"],
                hidden_size=units,
                direction="bidirectional" if d == 2 else "forward",
            )
        )
        if not seq:
            nodes.append(
                helper.make_node("Squeeze", [out + "_Yh", const_i64(out + "_ax", [0])], [out])
            )
            return out
        # Y (T, dirs, N, H) -> (N, T, dirs * H): forward then backward, as Keras concat.
        nodes.append(helper.make_node("Transpose", [out + "_Y"], [out + "_nt"], perm=[2, 0, 1, 3]))
        nodes.append(
            helper.make_node("Reshape", [out + "_nt", const_i64(out + "_sh", [0, 0, -1])], [out])
        )
        return out

    def dense(x: str, prefix: str, out: str) -> str:
        nodes.append(
            helper.make_node(
                "MatMul", [x, init(prefix + "_k", w.w[f"{prefix}/kernel"])], [out + "_mm"]
            )
        )
        nodes.append(
            helper.make_node(
                "Add", [out + "_mm", init(prefix + "_b", w.w[f"{prefix}/bias"])], [out + "_z"]
            )
        )
        nodes.append(helper.make_node("Softmax", [out + "_z"], [out], axis=-1))
        return out

    if kind == "lstm":
        x_info = helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, None, None])
        y = lstm("x", ["lstm"], "h", seq=False)
        if "dense/kernel" in w.w:
            y = dense(y, "dense", "probs")
    else:
        x_info = helper.make_tensor_value_info("x", TensorProto.INT32, [None, None])
        nodes.append(helper.make_node("Gather", [init("emb", w.w["emb/embeddings"]), "x"], ["e"]))
        s = lstm("e", ["bidi/forward_lstm", "bidi/backward_lstm"], "s", seq=True)
        # GRU, reset_after=False == ONNX linear_before_reset=0; gate order z r h in both.
        k, r, b = w.w["gru/kernel"], w.w["gru/recurrent_kernel"], w.w["gru/bias"]
        nodes.append(helper.make_node("Transpose", [s], ["g_tm"], perm=[1, 0, 2]))
        nodes.append(
            helper.make_node(
                "GRU",
                [
                    "g_tm",
                    init("g_W", k.T[None]),
                    init("g_R", r.T[None]),
                    init("g_B", np.concatenate([b, np.zeros_like(b)])[None]),
                ],
                ["g_Y", "g_Yh"],
                hidden_size=units,
                linear_before_reset=0,
            )
        )
        nodes.append(helper.make_node("Squeeze", ["g_Yh", const_i64("g_ax", [0])], ["g"]))
        y = dense("g", "dense", "probs")
    graph = helper.make_graph(
        nodes, "rnn", [x_info], [helper.make_tensor_value_info(y, TensorProto.FLOAT, None)], inits
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    sess = _harness.ort_session(model.SerializeToString(), threads)
    return lambda x: sess.run(None, {"x": x})[0]


def tfjs_wasm(folder: Path, x: np.ndarray, batches: list[int], rounds: int) -> dict | None:
    node = os.environ.get("NODE", "node")
    ok = subprocess.run(
        [node, "-e", "require.resolve('@tensorflow/tfjs-backend-wasm')"], capture_output=True
    )
    if ok.returncode != 0:
        return None
    with tempfile.NamedTemporaryFile(suffix=".bin", delete=False) as f:
        f.write(np.ascontiguousarray(x).tobytes())
    try:
        cmd = [
            node,
            str(HERE / "tfjs_wasm_bench.cjs"),
            str(folder / "model.json"),
            f.name,
            "x".join(map(str, x.shape)),
            "int32" if x.dtype == np.int32 else "float32",
            "1",
            str(max(3, rounds // 3)),
            "0",
            ",".join(map(str, batches)),
        ]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    finally:
        os.unlink(f.name)
    return json.loads(res.stdout) if res.returncode == 0 else None


# -- main -------------------------------------------------------------------------------


def bench(
    title: str,
    folder: Path,
    w: Writer,
    kind: str,
    units: int,
    x: np.ndarray,
    batches: list[int],
    args,
) -> None:
    model = tfjs_infer.load_model(folder / "model.json", num_threads=args.threads)
    ort = ort_session(w, kind, args.threads, units)
    wasm = None if args.no_tfjs else tfjs_wasm(folder, x, batches, args.rounds)
    print(f"\n{title}, {args.threads} thread(s)")
    print(f"{'batch':>6} {'tfjs_infer':>12} {'onnxruntime':>12} {'ours/ort':>9} {'TF.js wasm':>12}")
    for batch in batches:
        xb = np.ascontiguousarray(np.resize(x, (batch, *x.shape[1:])))
        cands = {"ours": lambda xb=xb, batch=batch: model.predict(xb, batch_size=batch)}
        if ort is not None:
            np.testing.assert_allclose(
                model.predict(xb, batch_size=batch), ort(xb), rtol=1e-4, atol=1e-5
            )
            cands["ort"] = lambda xb=xb: ort(xb)
        inner = max(1, int(2e-2 / max(1e-6, _once(cands["ours"]))))
        t = interleaved(cands, args.rounds, inner)
        ort_txt = f"{t['ort'] * 1e6:9.0f} us" if "ort" in t else f"{'-':>12}"
        ratio = f"{t['ours'] / t['ort']:9.2f}" if "ort" in t else f"{'-':>9}"
        wasm_s = None
        if wasm is not None:
            wasm_s = np.median(wasm["b1"]) if batch == 1 else np.median(wasm["batches"][str(batch)])
        wasm_txt = f"{wasm_s * 1e6:9.0f} us" if wasm_s is not None else f"{'-':>12}"
        print(f"{batch:>6} {t['ours'] * 1e6:9.0f} us {ort_txt} {ratio} {wasm_txt}")


def _once(fn) -> float:
    import time

    fn()
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=21)
    ap.add_argument("--no-tfjs", action="store_true")
    args = ap.parse_args()
    header()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        w = lstm_model(tmp / "lstm", 50, 32, 128, None)
        x = rng.uniform(-1, 1, (64, 50, 32)).astype(np.float32)
        bench(
            "LSTM(128) over 50 steps x 32 features", tmp / "lstm", w, "lstm", 128, x, [1, 64], args
        )
        w = lstm_model(tmp / "gen", 40, 60, 128, 60)
        x = np.eye(60, dtype=np.float32)[rng.integers(0, 60, (64, 40))]
        bench(
            "text generator: LSTM(128) over 40 one-hot steps of 60 -> Dense(60, softmax)",
            tmp / "gen",
            w,
            "lstm",
            128,
            x,
            [1, 64],
            args,
        )
        w = classifier_model(tmp / "cls", 80, 5000, 64, 64)
        x = rng.integers(1, 5000, (64, 80)).astype(np.int32)
        bench(
            "classifier: Embedding(5000, 64) -> BiLSTM(64, seq) -> GRU(64) -> Dense(2), 80 steps",
            tmp / "cls",
            w,
            "classifier",
            64,
            x,
            [1, 64],
            args,
        )


if __name__ == "__main__":
    main()
