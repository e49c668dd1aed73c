// Hooks of the CUDA build for tests/cuda (tfjs_infer._core._cuda_testing):
// the kernels of cpp/cuda/kernels/ and, in emulation builds, the emulator's
// self-test kernels. Built only with TFJS_INFER_CUDA or TFJS_INFER_CUDA_EMU.
#pragma once

#include <pybind11/pybind11.h>

namespace tfjs_infer {

void register_cuda_testing(pybind11::module_& m);
#ifdef TFJS_INFER_CUDA_EMU
void register_emu_selftests(pybind11::module_& t);
#endif

}  // namespace tfjs_infer
