// Dot layer kernels: one thread per output value, the CPU op's loops.
#include "cuda/kernels/common.cuh"
#include "cuda/kernels/dot.h"

namespace tfjs_infer::cuda {

namespace {

__global__ void batch_dot_kernel(BatchDotArgs a, int64_t total) {
  for (int64_t e = global_index(); e < total; e += grid_stride()) {
    const int64_t j = e % a.fy, i = (e / a.fy) % a.fx, b = e / (a.fy * a.fx);
    const float* x = a.x + b * a.x_row + i * a.xf;
    const float* y = a.y + b * a.y_row + j * a.yf;
    float acc = 0.0f;
    for (int64_t kk = 0; kk < a.k; ++kk) acc = add(acc, mul(x[kk * a.xk], y[kk * a.yk]));
    a.o[e] = acc;
  }
}

__global__ void l2_normalize_kernel(L2NormalizeArgs a, int64_t total) {
  for (int64_t e = global_index(); e < total; e += grid_stride()) {
    const int64_t o = e / a.inner, i = e % a.inner;
    const float* src = a.x + o * a.len * a.inner + i;
    float* dst = a.y + o * a.len * a.inner + i;
    double sum = 0.0;
    for (int64_t j = 0; j < a.len; ++j) {
      const double v = src[j * a.inner];
      sum = dadd(sum, dmul(v, v));
    }
    // std::max's rule (a NaN first argument stays), not fmax's.
    const double root = sqrt(sum);
    const double denom =
        a.eps_on_norm ? (root < a.eps ? a.eps : root) : sqrt(sum < a.eps ? a.eps : sum);
    for (int64_t j = 0; j < a.len; ++j)
      dst[j * a.inner] = static_cast<float>(src[j * a.inner] / denom);
  }
}

}  // namespace

cudaError_t batch_dot_f32(const BatchDotArgs& a, cudaStream_t stream) {
  const int64_t total = a.n * a.fx * a.fy;
  if (total <= 0) return cudaSuccess;
  TFJS_LAUNCH_FLAT(batch_dot_kernel, dim3(blocks_for(total)), dim3(kThreads), 0, stream, a, total);
  return launch_status();
}

cudaError_t l2_normalize_f32(const L2NormalizeArgs& a, cudaStream_t stream) {
  const int64_t total = a.outer * a.inner;
  if (total <= 0) return cudaSuccess;
  TFJS_LAUNCH_FLAT(l2_normalize_kernel, dim3(blocks_for(total)), dim3(kThreads), 0, stream, a,
                   total);
  return launch_status();
}

}  // namespace tfjs_infer::cuda
