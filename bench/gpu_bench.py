"""tfjs-infer on an NVIDIA GPU beside a GPU peer and beside its own CPU engine.

    python bench/gpu_bench.py --models-dir bench/.models [--models mlp,lstm,...]
                              [--seconds 2] [--json out.json]

Models: MobileNetV2, ResNet50, the MLP and the LSTM of bench/make_bench_models.py
(their tfjs/model.json and model.onnx; build them where TensorFlow is, copy the
folder over). Batches 1, 32 and 256; per engine and batch the median seconds per
call over --seconds of interleaved rounds (candidates take turns, order
reversed each round), batch 1 as latency, 32 and 256 as rows/s, each with the
ratio tfjs-infer / peer (below 1 for latency and above 1 for throughput:
tfjs-infer is faster).

Peers, the first available:
  onnxruntime-gpu  model.onnx on the CUDA execution provider (same file as compare.py)
  PyTorch          fp32 with TF32 off (cudnn and matmul), eval mode, no grad:
                   torchvision's MobileNetV2 and ResNet50 (NCHW, random weights: speed
                   does not depend on them), and the MLP and LSTM rebuilt with torch.nn
Our CPU engine (device="cpu") runs beside them. Outputs of device="cuda" are
checked against the CPU engine's before timing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import tfjs_infer

MODELS = ("mobilenet_v2", "resnet50", "mlp", "lstm")
BATCHES = (1, 32, 256)


def machine_line() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    return f"CPU {cpu}; {os.cpu_count()} cores; load average {load}; {platform.platform()}"


def tile(x: np.ndarray, rows: int) -> np.ndarray:
    reps = -(-rows // x.shape[0])
    return np.ascontiguousarray(np.concatenate([x] * reps)[:rows])


# -- peers ------------------------------------------------------------------------
def ort_cuda_runner(folder: Path) -> tuple[str, Callable[[np.ndarray], Any]] | None:
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    onnx = folder / "model.onnx"
    if "CUDAExecutionProvider" not in ort.get_available_providers() or not onnx.is_file():
        return None
    sess = ort.InferenceSession(str(onnx), providers=["CUDAExecutionProvider"])
    name = sess.get_inputs()[0].name
    return f"onnxruntime-gpu {ort.__version__} CUDA EP", lambda x: sess.run(None, {name: x})


def torch_runner(
    model: str, meta: dict[str, Any]
) -> tuple[str, Callable[[np.ndarray], Any]] | None:
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    net = torch_model(model, meta)
    if net is None:
        return None
    net = net.cuda().eval()
    nchw = model in ("mobilenet_v2", "resnet50")

    def run(x: np.ndarray) -> Any:
        with torch.inference_mode():
            t = torch.from_numpy(x.transpose(0, 3, 1, 2).copy() if nchw else x).cuda()
            return net(t).cpu().numpy()

    return f"PyTorch {torch.__version__} fp32 (TF32 off)", run


def torch_model(model: str, meta: dict[str, Any]) -> Any:
    import torch
    from torch import nn

    if model == "mobilenet_v2" or model == "resnet50":
        try:
            import torchvision
        except ImportError:
            return None
        return getattr(torchvision.models, model)(weights=None)
    if model == "mlp":
        return nn.Sequential(
            nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
            nn.Linear(512, 10), nn.Softmax(dim=-1),
        )  # fmt: skip
    if model == "lstm":
        features = meta["input"]["shape"][-1]

        class Lstm(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.lstm = nn.LSTM(features, 128, batch_first=True)
                self.head = nn.Linear(128, 10)

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                out, _ = self.lstm(x)
                return torch.softmax(self.head(out[:, -1]), dim=-1)

        return Lstm()
    return None


# -- timing -----------------------------------------------------------------------
def interleaved(runners: dict[str, Callable[[], Any]], seconds: float) -> dict[str, float]:
    """Median seconds per call of each runner, taking turns (order reversed each round)."""
    times: dict[str, list[float]] = {k: [] for k in runners}
    for fn in runners.values():
        fn()  # warm-up (plans, cudnn autotuning)
    order = list(runners)
    deadline = time.perf_counter() + seconds
    rounds = 0
    while rounds < 5 or (time.perf_counter() < deadline and rounds < 2000):
        for k in order:
            t = time.perf_counter()
            runners[k]()
            times[k].append(time.perf_counter() - t)
        order.reverse()
        rounds += 1
    return {k: statistics.median(v) for k, v in times.items()}


def bench_model(name: str, folder: Path, seconds: float) -> dict[str, Any]:
    meta = json.loads((folder / "meta.json").read_text())
    path = folder / "tfjs" / "model.json"
    cpu = tfjs_infer.load_model(path)
    gpu = tfjs_infer.load_model(path, device="cuda")
    x0 = np.load(folder / "input.npy")
    diff = float(np.max(np.abs(gpu.predict(x0) - cpu.predict(x0))))
    on_cpu = [op for op, where in zip(gpu._core.ops(), gpu._core.placement) if where == "cpu"]
    peer = ort_cuda_runner(folder) or torch_runner(name, meta)
    result: dict[str, Any] = {
        "model": name,
        "max_abs_diff_vs_cpu_engine": diff,
        "ops_on_cpu": sorted({op[1] for op in on_cpu}),
        "peer": peer[0] if peer else "none installed",
        "batches": {},
    }
    for batch in BATCHES:
        x = tile(x0, batch)
        runners: dict[str, Callable[[], Any]] = {
            "tfjs-infer cuda": lambda x=x: gpu.predict_on_batch(x),
            "tfjs-infer cpu": lambda x=x: cpu.predict_on_batch(x),
        }
        if peer:
            runners["peer"] = lambda x=x, run=peer[1]: run(x)
        result["batches"][batch] = interleaved(runners, seconds)
    return result


def report(r: dict[str, Any]) -> None:
    diff = r["max_abs_diff_vs_cpu_engine"]
    print(f"\n{r['model']}: peer {r['peer']}; max |cuda - cpu engine| {diff:.2e}")
    if r["ops_on_cpu"]:
        print(f"  ops on the CPU (no CUDA op): {', '.join(r['ops_on_cpu'])}")
    for batch, med in r["batches"].items():
        cells = []
        for k, s in med.items():
            fig = f"{s * 1e3:.3f} ms" if batch == 1 else f"{batch / s:,.0f} rows/s"
            cells.append(f"{k} {fig}")
        line = f"  batch {batch:>3}: " + "; ".join(cells)
        if "peer" in med:
            ratio = (
                med["tfjs-infer cuda"] / med["peer"]
                if batch == 1
                else med["peer"] / med["tfjs-infer cuda"]
            )
            what = "latency ratio" if batch == 1 else "throughput ratio"
            line += f"  [{what} tfjs-infer/peer {ratio:.2f}]"
        print(line)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models-dir", type=Path, default=Path(__file__).resolve().parent / ".models")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--seconds", type=float, default=2.0, help="timing per model and batch")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    print("command:", " ".join([Path(sys.executable).name, *sys.argv]))
    print(machine_line())
    info = tfjs_infer.build_info()
    print(f"tfjs-infer {tfjs_infer.__version__}; CUDA devices {info['cuda_devices']}")
    results = []
    for name in args.models.split(","):
        folder = args.models_dir / name
        if not (folder / "tfjs" / "model.json").is_file():
            print(f"\n{name}: no {folder}/tfjs/model.json (bench/make_bench_models.py builds it)")
            continue
        results.append(bench_model(name, folder, args.seconds))
        report(results[-1])
    print("\n" + machine_line())
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
