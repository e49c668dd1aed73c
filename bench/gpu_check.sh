#!/usr/bin/env bash
# The device check of issue 14, for a machine with an NVIDIA GPU (it cannot
# run without one): builds the CUDA variant (TFJS_INFER_CUDA=ON) into a
# throwaway venv, runs tests/cuda on the real device, then benchmarks
# MobileNetV2, ResNet50, the MLP and the LSTM at batch 1, 32 and 256 beside
# onnxruntime-gpu's CUDA EP when installed, else PyTorch fp32 with TF32 off,
# and beside our CPU engine (bench/gpu_bench.py). Budget: under 8 minutes.
#
#   bash bench/gpu_check.sh [--models DIR] [--arch native] [--seconds 2] [--skip-bench]
#
# --models: the bench model folders of bench/make_bench_models.py (default
#   bench/.models). That script needs TensorFlow, which a GPU machine may lack
#   and cannot download (it has no network): build them on a machine with
#   TensorFlow and copy the folder over.
# --arch: CMAKE_CUDA_ARCHITECTURES for this build (default: native, this GPU
#   only, the quick build; the release default is the fat binary).
# Offline: the build uses the Python's installed scikit-build-core, pybind11,
#   cmake and numpy (pip --no-build-isolation --no-index); pytest must be there.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
models=bench/.models
arch=native
seconds=2
bench=1
while [ $# -gt 0 ]; do
  case "$1" in
    --models) models=$2; shift 2 ;;
    --arch) arch=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --skip-bench) bench=0; shift ;;
    *) echo "gpu_check: unknown argument $1" >&2; exit 2 ;;
  esac
done
py=${PYTHON:-python3}
start=$SECONDS
step() { echo; echo "== $* ($((SECONDS - start)) s)"; }

if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
  echo "gpu_check: no NVIDIA GPU here (nvidia-smi finds none); this check needs one" >&2
  exit 1
fi
[ -x /usr/local/cuda/bin/nvcc ] && export PATH=/usr/local/cuda/bin:$PATH
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
nvcc --version | tail -1
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-); load: $(cut -d' ' -f1-3 /proc/loadavg)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
step "build: TFJS_INFER_CUDA=ON, CMAKE_CUDA_ARCHITECTURES=$arch"
"$py" -m venv --system-site-packages "$work/venv"
CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) "$work/venv/bin/pip" install --quiet --no-deps \
  --no-build-isolation --no-index . -C cmake.define.TFJS_INFER_CUDA=ON \
  -C "cmake.define.CMAKE_CUDA_ARCHITECTURES=$arch" -C build-dir="$work/build"
# An editable install elsewhere on the system would shadow the wheel: refuse.
(cd "$work" && "$work/venv/bin/python" - <<'PY'
import tfjs_infer
assert "/venv/" in tfjs_infer.__file__, f"another tfjs_infer shadows the build: {tfjs_infer.__file__}"
info = tfjs_infer.build_info()
assert info["cuda_compiled"] and not info["cuda_emulated"], info
assert info["cuda_devices"], "the CUDA build sees no device: " + tfjs_infer._core.device_unusable_reason("cuda", 0)
print("devices:", info["cuda_devices"])
PY
)

step "tests/cuda on the device"
(cd "$work" && timeout 240 "$work/venv/bin/python" -m pytest -q -p no:cacheprovider "$repo/tests/cuda")

if [ "$bench" = 1 ]; then
  step "benchmarks (bench/gpu_bench.py)"
  if [ ! -f "$models/mlp/tfjs/model.json" ]; then
    echo "gpu_check: no bench models in $models: run bench/make_bench_models.py where" \
      "TensorFlow is and pass --models DIR" >&2
    exit 1
  fi
  (cd "$work" && timeout 300 "$work/venv/bin/python" "$repo/bench/gpu_bench.py" \
    --models-dir "$(cd "$repo" && realpath "$models")" --seconds "$seconds")
fi
step "done"
