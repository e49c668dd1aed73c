// Keras mask helpers of recurrent models (the CPU's ops/sequence_ops.cpp):
// masks are float32 0 (skip) / 1 (keep).
#pragma once

#include "cuda/kernels/launch.h"

namespace tfjs_infer::cuda {

// y[i] = x[i] != value ? 1 : 0 over n values (x int32 or float32, compared
// as float64, as the CPU op).
struct NotEqualMaskArgs {
  const float* x_f32 = nullptr;  // one of x_f32 / x_i32
  const int32_t* x_i32 = nullptr;
  float* y = nullptr;
  int64_t n = 0;
  double value = 0.0;
};
cudaError_t not_equal_mask_f32(const NotEqualMaskArgs& args, cudaStream_t stream);

// The Masking layer over rows of f values: mask[r] = any(x[r, :] != value)
// (NaN counts as different); y = select ? (mask ? x : 0) : x * mask.
struct MaskingArgs {
  const float* x = nullptr;
  float* y = nullptr;
  float* mask = nullptr;
  int64_t rows = 0, f = 0;
  float value = 0.0f;
  int32_t select = 0;
};
cudaError_t masking_f32(const MaskingArgs& args, cudaStream_t stream);

// y[i] = value for i < n.
cudaError_t fill_f32(float* y, int64_t n, float value, cudaStream_t stream);

// Keras's masked GlobalAveragePooling1D: y[r, j] = sum_t(x[r, t, j] m[r, t])
// / sum_t(m[r, t]), both sums in float64 in step order.
struct MaskedMeanArgs {
  const float* x = nullptr;
  const float* mask = nullptr;
  float* y = nullptr;
  int64_t n = 0, steps = 0, f = 0;
};
cudaError_t masked_mean_f32(const MaskedMeanArgs& args, cudaStream_t stream);

// any (all = 0) or all (all = 1) of x != 0 over the middle axis of
// [outer, len, inner]: y [outer, inner] of 0 / 1.
struct ReduceMaskArgs {
  const float* x_f32 = nullptr;  // one of x_f32 / x_i32
  const int32_t* x_i32 = nullptr;
  float* y = nullptr;
  int64_t outer = 0, len = 0, inner = 1;
  int32_t all = 0;
};
cudaError_t reduce_mask_f32(const ReduceMaskArgs& args, cudaStream_t stream);

}  // namespace tfjs_infer::cuda
