// What every CUDA kernel header of this folder shares: cudaStream_t and
// cudaError_t (the toolkit's runtime API, or the host emulation's in a
// TFJS_INFER_CUDA_EMU build), and the CPU engine's plain-data activation
// parameters (kernels/kernel_args.h), so both engines take the same list.
//
// Every launch function takes device pointers in a plain-data struct and a
// stream, enqueues its kernels and returns the launch's error (cudaSuccess
// also for empty work, where nothing is launched). Nothing synchronizes.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/kernel_args.h"

namespace tfjs_infer::cuda {

using ::tfjs_infer::ActKind;
using ::tfjs_infer::ActParams;

constexpr int kMaxRank = 8;  // element-wise broadcasting and padding

}  // namespace tfjs_infer::cuda
