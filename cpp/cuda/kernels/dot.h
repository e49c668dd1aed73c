// Keras's Dot layer ("batch_dot"): per batch row, a product of two rank-1/2
// slices contracted over one axis each, and the optional L2 normalization
// of the inputs along those axes.
#pragma once

#include "cuda/kernels/launch.h"

namespace tfjs_infer::cuda {

// o[b, i, j] = sum over kk (in order, from +0, no FMA) of
//   x[b * x_row + i * xf + kk * xk] * y[b * y_row + j * yf + kk * yk]
// for b < n, i < fx, j < fy: the CPU op's loop.
struct BatchDotArgs {
  const float* x = nullptr;
  const float* y = nullptr;
  float* o = nullptr;
  int64_t n = 0, fx = 1, fy = 1, k = 0;
  int64_t x_row = 0, xf = 0, xk = 1, y_row = 0, yf = 0, yk = 1;
};
cudaError_t batch_dot_f32(const BatchDotArgs& args, cudaStream_t stream);

// y = x / denom along the middle axis of [outer, len, inner], denom from the
// float64 sum of squares s: max(sqrt(s), eps) when eps_on_norm, else
// sqrt(max(s, eps)) (the CPU op's two Keras variants).
struct L2NormalizeArgs {
  const float* x = nullptr;
  float* y = nullptr;
  int64_t outer = 0, len = 0, inner = 1;
  double eps = 1e-12;
  int32_t eps_on_norm = 0;
};
cudaError_t l2_normalize_f32(const L2NormalizeArgs& args, cudaStream_t stream);

}  // namespace tfjs_infer::cuda
