// The CUDA runtime API the backend uses, from the toolkit (TFJS_INFER_CUDA=ON)
// or from the host emulator (TFJS_INFER_CUDA_EMU=ON: the same calls on host
// memory, so the whole backend runs end to end on a machine without a GPU).
// check_cuda turns a failed call into a tfjs_infer Error naming it.
#pragma once

#include <string>

// An emulation build puts cpp/cuda/emu/include first on the include path.
#include <cuda_runtime_api.h>

#include "core/errors.h"

namespace tfjs_infer {

inline std::string cuda_error_text(cudaError_t err) {
  return std::string(cudaGetErrorName(err)) + " (CUDA error " + std::to_string(int(err)) +
         "): " + cudaGetErrorString(err);
}

// Throws Error(kDevice) naming the failed call when err is not cudaSuccess.
inline void check_cuda(cudaError_t err, const char* call) {
  if (err != cudaSuccess)
    fail(ErrorKind::kDevice, std::string(call) + " failed: " + cuda_error_text(err));
}

}  // namespace tfjs_infer
