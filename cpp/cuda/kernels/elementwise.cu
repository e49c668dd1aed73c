// Element-wise kernels: activations, broadcast merge steps, per-channel
// affine and PReLU. Grid-stride loops, one element per thread and step.
#include "cuda/kernels/activation.cuh"
#include "cuda/kernels/elementwise.h"

namespace tfjs_infer::cuda {

namespace {

__global__ void activation_kernel(ActParams act, const float* x, float* y, int64_t n) {
  for (int64_t i = global_index(); i < n; i += grid_stride()) y[i] = activate(act, x[i]);
}

// NaN from either side wins in max/min, as in the CPU op (TF.js, TF).
__device__ __forceinline__ float combine(MergeKind kind, float acc, float v) {
  switch (kind) {
    case MergeKind::kAdd:
      return add(acc, v);
    case MergeKind::kSub:
      return acc - v;
    case MergeKind::kMul:
      return mul(acc, v);
    case MergeKind::kMax:
      return v > acc || v != v ? v : acc;
    case MergeKind::kMin:
      return v < acc || v != v ? v : acc;
    case MergeKind::kCopy:
      break;
  }
  return v;
}

__global__ void merge_kernel(MergeArgs a, int64_t total) {
  for (int64_t i = global_index(); i < total; i += grid_stride()) {
    int64_t rest = i, off = 0;
    for (int d = a.rank - 1; d >= 0; --d) {
      off += (rest % a.out_dims[d]) * a.x_strides[d];
      rest /= a.out_dims[d];
    }
    float v = combine(a.kind, a.y[i], a.x[off]);
    if (a.post_scale != 1.0f) v = mul(v, a.post_scale);
    a.y[i] = v;
  }
}

__global__ void channel_affine_kernel(ChannelAffineArgs a, int64_t total) {
  for (int64_t i = global_index(); i < total; i += grid_stride()) {
    const int64_t ch = (i / a.inner) % a.channels;
    const float x = a.x_i32 ? static_cast<float>(a.x_i32[i]) : a.x[i];
    a.y[i] = add(mul(x, a.scale[ch]), a.shift[ch]);
  }
}

__global__ void prelu_kernel(PreluArgs a, int64_t total) {
  for (int64_t i = global_index(); i < total; i += grid_stride()) {
    const float v = a.x[i];
    const int64_t j = i % a.per_row;
    a.y[i] = v >= 0.0f ? v : mul(a.alpha[a.alpha_index ? a.alpha_index[j] : j], v);
  }
}

int64_t product(const int64_t* dims, int rank) {
  int64_t n = 1;
  for (int d = 0; d < rank; ++d) n *= dims[d];
  return n;
}

}  // namespace

cudaError_t activation_f32(const ActParams& act, const float* x, float* y, int64_t n,
                           cudaStream_t stream) {
  if (n <= 0 || (act.kind == ActKind::kLinear && x == y)) return cudaSuccess;
  TFJS_LAUNCH_FLAT(activation_kernel, dim3(blocks_for(n)), dim3(kThreads), 0, stream, act, x, y, n);
  return launch_status();
}

cudaError_t merge_f32(const MergeArgs& a, cudaStream_t stream) {
  if (a.rank < 1 || a.rank > kMaxRank) return cudaErrorInvalidValue;
  const int64_t total = product(a.out_dims, a.rank);
  if (total <= 0) return cudaSuccess;
  TFJS_LAUNCH_FLAT(merge_kernel, dim3(blocks_for(total)), dim3(kThreads), 0, stream, a, total);
  return launch_status();
}

cudaError_t channel_affine_f32(const ChannelAffineArgs& a, cudaStream_t stream) {
  const int64_t total = a.outer * a.channels * a.inner;
  if (total <= 0) return cudaSuccess;
  TFJS_LAUNCH_FLAT(channel_affine_kernel, dim3(blocks_for(total)), dim3(kThreads), 0, stream, a,
                   total);
  return launch_status();
}

cudaError_t prelu_f32(const PreluArgs& a, cudaStream_t stream) {
  const int64_t total = a.rows * a.per_row;
  if (total <= 0) return cudaSuccess;
  TFJS_LAUNCH_FLAT(prelu_kernel, dim3(blocks_for(total)), dim3(kThreads), 0, stream, a, total);
  return launch_status();
}

}  // namespace tfjs_infer::cuda
