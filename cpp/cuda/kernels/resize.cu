// Image data movement: resize through host-made taps, zero padding/cropping
// and repeat. One thread per output element.
#include "cuda/kernels/common.cuh"
#include "cuda/kernels/resize.h"

namespace tfjs_infer::cuda {

namespace {

template <typename T>
__device__ __forceinline__ T lerp(T lo, T hi, T frac) {
  return lo + (hi - lo) * frac;  // built with --fmad=false: rounded as the CPU
}

__global__ void resize_kernel(ResizeArgs a, int64_t total) {
  for (int64_t e = global_index(); e < total; e += grid_stride()) {
    const int64_t ch = e % a.c, j = (e / a.c) % a.ow, r = (e / (a.c * a.ow)) % a.oh;
    const int64_t b = e / (a.c * a.ow * a.oh);
    const float* img = a.x + b * a.ih * a.iw * a.c;
    const float* top = img + a.h_lo[r] * a.iw * a.c;
    if (!a.bilinear) {
      a.y[e] = top[a.w_lo[j] * a.c + ch];
      continue;
    }
    const float* bot = img + a.h_hi[r] * a.iw * a.c;
    const int64_t lo = a.w_lo[j] * a.c + ch, hi = a.w_hi[j] * a.c + ch;
    if (a.frac_f64) {
      const double t = lerp<double>(top[lo], top[hi], a.w_frac[j]);
      const double bt = lerp<double>(bot[lo], bot[hi], a.w_frac[j]);
      a.y[e] = static_cast<float>(lerp<double>(t, bt, a.h_frac[r]));
    } else {
      const float dx = static_cast<float>(a.w_frac[j]), dy = static_cast<float>(a.h_frac[r]);
      const float t = lerp<float>(top[lo], top[hi], dx);
      const float bt = lerp<float>(bot[lo], bot[hi], dx);
      a.y[e] = lerp<float>(t, bt, dy);
    }
  }
}

__global__ void pad_kernel(PadArgs a, int64_t total) {
  for (int64_t e = global_index(); e < total; e += grid_stride()) {
    int64_t rest = e, src = 0, stride = 1;
    bool inside = true;
    for (int d = a.rank - 1; d >= 0; --d) {
      const int64_t o = rest % a.out_dims[d];
      rest /= a.out_dims[d];
      const int64_t idx = o - a.begin[d];
      inside = inside && idx >= 0 && idx < a.in_dims[d];
      src += idx * stride;
      stride *= a.in_dims[d];
    }
    a.y[e] = inside ? a.x[src] : 0.0f;
  }
}

__global__ void repeat_kernel(RepeatArgs a, int64_t total) {
  for (int64_t e = global_index(); e < total; e += grid_stride()) {
    int64_t rest = e, src = 0, stride = 1;
    for (int d = a.rank - 1; d >= 0; --d) {
      const int64_t out_dim = a.in_dims[d] * a.repeat[d];
      src += (rest % out_dim) / a.repeat[d] * stride;
      rest /= out_dim;
      stride *= a.in_dims[d];
    }
    a.y[e] = a.x[src];
  }
}

}  // namespace

cudaError_t resize_f32(const ResizeArgs& a, cudaStream_t stream) {
  const int64_t total = a.n * a.oh * a.ow * a.c;
  if (total <= 0) return cudaSuccess;
  TFJS_LAUNCH_FLAT(resize_kernel, dim3(blocks_for(total)), dim3(kThreads), 0, stream, a, total);
  return launch_status();
}

cudaError_t pad_f32(const PadArgs& a, cudaStream_t stream) {
  if (a.rank < 1 || a.rank > kMaxRank) return cudaErrorInvalidValue;
  int64_t total = 1;
  for (int d = 0; d < a.rank; ++d) total *= a.out_dims[d];
  if (total <= 0) return cudaSuccess;
  TFJS_LAUNCH_FLAT(pad_kernel, dim3(blocks_for(total)), dim3(kThreads), 0, stream, a, total);
  return launch_status();
}

cudaError_t repeat_f32(const RepeatArgs& a, cudaStream_t stream) {
  if (a.rank < 1 || a.rank > kMaxRank) return cudaErrorInvalidValue;
  int64_t total = 1;
  for (int d = 0; d < a.rank; ++d) total *= a.in_dims[d] * a.repeat[d];
  if (total <= 0) return cudaSuccess;
  TFJS_LAUNCH_FLAT(repeat_kernel, dim3(blocks_for(total)), dim3(kThreads), 0, stream, a, total);
  return launch_status();
}

}  // namespace tfjs_infer::cuda
