#!/usr/bin/env bash
# CI only: the optional CUDA build (TFJS_INFER_CUDA=ON) must compile with the
# machine's nvcc, and its wheel must import and report the CUDA backend. Built
# and tried in a throwaway venv, so the package the tests used stays as it is.
# Without a GPU, tests/cuda's device tests skip there; everything else in it runs.
# Then the emulation build (TFJS_INFER_CUDA_EMU=ON: the same CUDA kernels
# compiled by g++ and run on the host emulator, cpp/cuda/emu/) runs tests/cuda
# with TFJS_INFER_REQUIRE_CUDA_TESTS=1, so the kernel tests run, never skip.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

# The emulation variant needs only the host compiler.
emu=$(mktemp -d)
trap 'rm -rf "$emu"' EXIT
pip wheel . --no-deps -w "$emu/wheel" -C cmake.define.TFJS_INFER_CUDA_EMU=ON -C build-dir="$emu/build"
python -m venv "$emu/venv"
"$emu/venv/bin/pip" install --quiet numpy pytest h5py  # h5py: the Keras fixtures
"$emu/venv/bin/pip" install --no-deps "$emu"/wheel/*.whl
(cd "$emu" && TFJS_INFER_REQUIRE_CUDA_TESTS=1 "$emu/venv/bin/python" -m pytest -q "$root/tests/cuda" -p no:cacheprovider)
# Again with the threads of every block in a shuffled order (order assumptions).
(cd "$emu" && TFJS_INFER_REQUIRE_CUDA_TESTS=1 TFJS_INFER_EMU_SEED=1 "$emu/venv/bin/python" -m pytest -q "$root/tests/cuda" -p no:cacheprovider)
rm -rf "$emu"
trap - EXIT

if ! command -v nvcc >/dev/null 2>&1; then
  echo "cuda-build: no nvcc on this machine; the CUDA build is not checked" >&2
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# One architecture keeps CI's nvcc time down (the release default is a fat
# binary of seven plus PTX; README "GPU (CUDA)"); TFJS_INFER_CI_CUDA_ARCHS widens it.
pip wheel . --no-deps -w "$work/wheel" -C cmake.define.TFJS_INFER_CUDA=ON -C build-dir="$work/build" \
  -C "cmake.define.CMAKE_CUDA_ARCHITECTURES=${TFJS_INFER_CI_CUDA_ARCHS:-75-real}"
# An isolated venv: with --system-site-packages, an editable install of the
# package in the system Python (its .pth import hook) would shadow the wheel.
python -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet numpy pytest h5py
"$work/venv/bin/pip" install --no-deps "$work"/wheel/*.whl
"$work/venv/bin/python" - <<'PY'
import tfjs_infer
assert "/venv/" in tfjs_infer.__file__, tfjs_infer.__file__
info = tfjs_infer.build_info()
assert info["cuda_compiled"], info
print("cuda-build: compiled with CUDA; devices:", info["cuda_devices"])
PY
(cd "$work" && "$work/venv/bin/python" -m pytest -q "$OLDPWD/tests/cuda" -p no:cacheprovider)
