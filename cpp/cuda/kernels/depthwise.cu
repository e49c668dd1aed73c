// Depthwise convolution (any depth multiplier): one thread per output
// element (b, oy, ox, c), taps
// in (ky, kx) order from +0, taps in the padding skipped, then bias and the
// activation: the CPU generic kernel's arithmetic, so the bits agree.
#include "cuda/kernels/activation.cuh"
#include "cuda/kernels/depthwise.h"

namespace tfjs_infer::cuda {

namespace {

__global__ void depthwise_kernel(DepthwiseArgs a, int64_t total) {
  for (int64_t i = global_index(); i < total; i += grid_stride()) {
    const int64_t ch = i % a.c;
    const int64_t ox = (i / a.c) % a.out_w;
    const int64_t oy = (i / (a.c * a.out_w)) % a.out_h;
    const int64_t b = i / (a.c * a.out_w * a.out_h);
    const int64_t iy0 = oy * a.stride_h - a.pad_top, ix0 = ox * a.stride_w - a.pad_left;
    const int64_t cin = a.c / a.multiplier, src_ch = ch / a.multiplier;
    float acc = 0.0f;
    for (int64_t ky = 0; ky < a.kh; ++ky) {
      const int64_t iy = iy0 + ky * a.dil_h;
      if (iy < 0 || iy >= a.in_h) continue;
      for (int64_t kx = 0; kx < a.kw; ++kx) {
        const int64_t ix = ix0 + kx * a.dil_w;
        if (ix < 0 || ix >= a.in_w) continue;
        const float xv = a.x[((b * a.in_h + iy) * a.in_w + ix) * cin + src_ch];
        acc = add(acc, mul(xv, a.w[(ky * a.kw + kx) * a.c + ch]));
      }
    }
    if (a.bias) acc = add(acc, a.bias[ch]);
    a.y[i] = activate(a.act, acc);
  }
}

}  // namespace

cudaError_t depthwise_f32(const DepthwiseArgs& a, cudaStream_t stream) {
  if (a.multiplier < 1 || a.c % a.multiplier) return cudaErrorInvalidValue;
  const int64_t total = a.n * a.out_h * a.out_w * a.c;
  if (total <= 0) return cudaSuccess;
  TFJS_LAUNCH_FLAT(depthwise_kernel, dim3(blocks_for(total)), dim3(kThreads), 0, stream, a, total);
  return launch_status();
}

}  // namespace tfjs_infer::cuda
