// Softmax and log-softmax over the last axis.
#pragma once

#include "cuda/kernels/launch.h"

namespace tfjs_infer::cuda {

// y[r, :] = softmax(x[r, :]) (log != 0: log-softmax) for r < rows, x == y
// allowed. One block per row: max and the float64 sum of exp(x - max) are
// warp-shuffle tree reductions (a fixed order, so results are deterministic;
// they differ from the CPU's sequential sum in the last bits only).
cudaError_t softmax_f32(const float* x, float* y, int64_t rows, int64_t cols, int32_t log,
                        cudaStream_t stream);

}  // namespace tfjs_infer::cuda
