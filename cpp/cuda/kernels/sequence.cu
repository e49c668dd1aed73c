// Mask helpers: one thread per output value, the CPU op's comparisons and
// float64 sums in the same order.
#include "cuda/kernels/common.cuh"
#include "cuda/kernels/sequence.h"

namespace tfjs_infer::cuda {

namespace {

__global__ void not_equal_kernel(NotEqualMaskArgs a) {
  for (int64_t i = global_index(); i < a.n; i += grid_stride()) {
    const double v = a.x_i32 ? static_cast<double>(a.x_i32[i]) : static_cast<double>(a.x_f32[i]);
    a.y[i] = v != a.value ? 1.0f : 0.0f;
  }
}

__global__ void masking_kernel(MaskingArgs a) {
  for (int64_t r = global_index(); r < a.rows; r += grid_stride()) {
    const float* x = a.x + r * a.f;
    bool any = false;
    for (int64_t j = 0; j < a.f && !any; ++j) any = x[j] != a.value;
    a.mask[r] = any ? 1.0f : 0.0f;
    const float scale = any ? 1.0f : 0.0f;
    float* y = a.y + r * a.f;
    for (int64_t j = 0; j < a.f; ++j) y[j] = a.select ? (any ? x[j] : 0.0f) : mul(x[j], scale);
  }
}

__global__ void fill_kernel(float* y, int64_t n, float value) {
  for (int64_t i = global_index(); i < n; i += grid_stride()) y[i] = value;
}

__global__ void masked_mean_kernel(MaskedMeanArgs a) {
  for (int64_t e = global_index(); e < a.n * a.f; e += grid_stride()) {
    const int64_t r = e / a.f, j = e % a.f;
    const float* m = a.mask + r * a.steps;
    double count = 0.0, sum = 0.0;
    for (int64_t t = 0; t < a.steps; ++t) count = dadd(count, m[t]);
    for (int64_t t = 0; t < a.steps; ++t)
      sum = dadd(sum, dmul(static_cast<double>(a.x[(r * a.steps + t) * a.f + j]), m[t]));
    a.y[e] = static_cast<float>(sum / count);
  }
}

__global__ void reduce_mask_kernel(ReduceMaskArgs a) {
  for (int64_t e = global_index(); e < a.outer * a.inner; e += grid_stride()) {
    const int64_t o = e / a.inner, i = e % a.inner;
    bool acc = a.all != 0;
    for (int64_t k = 0; k < a.len; ++k) {
      const int64_t at = (o * a.len + k) * a.inner + i;
      const bool v = a.x_i32 ? a.x_i32[at] != 0 : a.x_f32[at] != 0.0f;
      acc = a.all ? (acc && v) : (acc || v);
    }
    a.y[e] = acc ? 1.0f : 0.0f;
  }
}

}  // namespace

cudaError_t not_equal_mask_f32(const NotEqualMaskArgs& a, cudaStream_t stream) {
  if (a.n <= 0) return cudaSuccess;
  TFJS_LAUNCH_FLAT(not_equal_kernel, dim3(blocks_for(a.n)), dim3(kThreads), 0, stream, a);
  return launch_status();
}

cudaError_t masking_f32(const MaskingArgs& a, cudaStream_t stream) {
  if (a.rows <= 0) return cudaSuccess;
  TFJS_LAUNCH_FLAT(masking_kernel, dim3(blocks_for(a.rows)), dim3(kThreads), 0, stream, a);
  return launch_status();
}

cudaError_t fill_f32(float* y, int64_t n, float value, cudaStream_t stream) {
  if (n <= 0) return cudaSuccess;
  TFJS_LAUNCH_FLAT(fill_kernel, dim3(blocks_for(n)), dim3(kThreads), 0, stream, y, n, value);
  return launch_status();
}

cudaError_t masked_mean_f32(const MaskedMeanArgs& a, cudaStream_t stream) {
  if (a.n * a.f <= 0) return cudaSuccess;
  TFJS_LAUNCH_FLAT(masked_mean_kernel, dim3(blocks_for(a.n * a.f)), dim3(kThreads), 0, stream, a);
  return launch_status();
}

cudaError_t reduce_mask_f32(const ReduceMaskArgs& a, cudaStream_t stream) {
  if (a.outer * a.inner <= 0) return cudaSuccess;
  TFJS_LAUNCH_FLAT(reduce_mask_kernel, dim3(blocks_for(a.outer * a.inner)), dim3(kThreads), 0,
                   stream, a);
  return launch_status();
}

}  // namespace tfjs_infer::cuda
