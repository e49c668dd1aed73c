// Windowed pooling (one thread per output element, cells in (d, h, w) order as
// the CPU kernel visits them) and global pooling (one thread per (batch,
// channel), positions in order, float64 sums).
#include "cuda/kernels/common.cuh"
#include "cuda/kernels/pool.h"

namespace tfjs_infer::cuda {

namespace {

__device__ __forceinline__ int64_t window_lo(int64_t o, int64_t s, int64_t pad) {
  const int64_t v = o * s - pad;
  return v < 0 ? 0 : v;
}
__device__ __forceinline__ int64_t window_hi(int64_t o, int64_t s, int64_t pad, int64_t k,
                                             int64_t in) {
  const int64_t v = o * s - pad + k;
  return v > in ? in : v;
}

__global__ void pool_kernel(PoolArgs a, int64_t total) {
  for (int64_t i = global_index(); i < total; i += grid_stride()) {
    const int64_t ch = i % a.c;
    const int64_t ow = (i / a.c) % a.out_w;
    const int64_t row = i / (a.c * a.out_w);  // (b, od, oh) flattened
    const int64_t oh = row % a.out_h, od = (row / a.out_h) % a.out_d;
    const int64_t b = row / (a.out_h * a.out_d);
    const int64_t d0 = window_lo(od, a.s_d, a.pad_d),
                  d1 = window_hi(od, a.s_d, a.pad_d, a.k_d, a.in_d);
    const int64_t h0 = window_lo(oh, a.s_h, a.pad_h),
                  h1 = window_hi(oh, a.s_h, a.pad_h, a.k_h, a.in_h);
    const int64_t w0 = window_lo(ow, a.s_w, a.pad_w),
                  w1 = window_hi(ow, a.s_w, a.pad_w, a.k_w, a.in_w);
    float acc = a.max ? a.max_init : 0.0f;
    if (a.zero_pad) {  // every cell of the window, a padded one reading +0
      for (int64_t kd = 0; kd < a.k_d; ++kd)
        for (int64_t kh = 0; kh < a.k_h; ++kh)
          for (int64_t kw = 0; kw < a.k_w; ++kw) {
            const int64_t d = od * a.s_d - a.pad_d + kd, h = oh * a.s_h - a.pad_h + kh,
                          w = ow * a.s_w - a.pad_w + kw;
            const bool inside =
                d >= 0 && d < a.in_d && h >= 0 && h < a.in_h && w >= 0 && w < a.in_w;
            const float v =
                inside ? a.x[(((b * a.in_d + d) * a.in_h + h) * a.in_w + w) * a.c + ch] : 0.0f;
            acc = a.max ? (v > acc ? v : acc) : add(acc, v);
          }
      a.y[i] = a.max ? acc : acc / static_cast<float>(a.k_d * a.k_h * a.k_w);
      continue;
    }
    for (int64_t d = d0; d < d1; ++d)
      for (int64_t h = h0; h < h1; ++h)
        for (int64_t w = w0; w < w1; ++w) {
          const float v = a.x[(((b * a.in_d + d) * a.in_h + h) * a.in_w + w) * a.c + ch];
          acc = a.max ? (v > acc ? v : acc) : add(acc, v);  // max skips NaN cells
        }
    if (!a.max) acc = acc / static_cast<float>((d1 - d0) * (h1 - h0) * (w1 - w0));
    a.y[i] = acc;
  }
}

__global__ void global_pool_kernel(GlobalPoolArgs a) {
  for (int64_t i = global_index(); i < a.n * a.c; i += grid_stride()) {
    const int64_t b = i / a.c, ch = i % a.c;
    const float* x = a.x + b * a.spatial * a.c;
    const int64_t base = a.channels_first ? ch * a.spatial : ch;
    const int64_t step = a.channels_first ? 1 : a.c;
    if (a.max) {
      float m = -__int_as_float(0x7f800000);
      for (int64_t p = 0; p < a.spatial; ++p) {
        const float v = x[base + p * step];
        m = v > m || v != v ? v : m;  // a reduce_max: NaN wins
      }
      a.y[i] = m;
    } else {
      double sum = 0.0;
      for (int64_t p = 0; p < a.spatial; ++p) sum = dadd(sum, x[base + p * step]);
      a.y[i] = static_cast<float>(sum / static_cast<double>(a.spatial));
    }
  }
}

}  // namespace

cudaError_t pool_f32(const PoolArgs& a, int64_t n, cudaStream_t stream) {
  const int64_t total = n * a.out_d * a.out_h * a.out_w * a.c;
  if (total <= 0) return cudaSuccess;
  TFJS_LAUNCH_FLAT(pool_kernel, dim3(blocks_for(total)), dim3(kThreads), 0, stream, a, total);
  return launch_status();
}

cudaError_t global_pool_f32(const GlobalPoolArgs& a, cudaStream_t stream) {
  if (a.n * a.c <= 0) return cudaSuccess;
  TFJS_LAUNCH_FLAT(global_pool_kernel, dim3(blocks_for(a.n * a.c)), dim3(kThreads), 0, stream, a);
  return launch_status();
}

}  // namespace tfjs_infer::cuda
