// Portable depthwise convolution (DepthwiseArgs): the reference the SIMD
// variants are tested against. Channels are the inner loop, so the compiler
// can vectorise it for the baseline ISA without changing any output's order of
// operations (each lane is one channel; no reassociation across taps).
#include "kernels/generic/activation_scalar.h"
#include "kernels/isa_kernels.h"

namespace tfjs_infer::kernels::generic {

void depthwise_f32(const DepthwiseArgs& a) {
  const int64_t c = a.c;
  for (int64_t oy = a.row_begin; oy < a.row_end; ++oy) {
    const int64_t iy0 = oy * a.stride_h - a.pad_top;
    for (int64_t ox = 0; ox < a.out_w; ++ox) {
      const int64_t ix0 = ox * a.stride_w - a.pad_left;
      float* y = a.y + (oy * a.out_w + ox) * c;
      for (int64_t ch = 0; ch < c; ++ch) y[ch] = 0.0f;
      for (int64_t ky = 0; ky < a.kh; ++ky) {
        const int64_t iy = iy0 + ky * a.dil_h;
        if (iy < 0 || iy >= a.in_h) continue;
        for (int64_t kx = 0; kx < a.kw; ++kx) {
          const int64_t ix = ix0 + kx * a.dil_w;
          if (ix < 0 || ix >= a.in_w) continue;
          const float* x = a.x + (iy * a.in_w + ix) * c;
          const float* w = a.w + (ky * a.kw + kx) * c;
          for (int64_t ch = 0; ch < c; ++ch) y[ch] += x[ch] * w[ch];
        }
      }
      for (int64_t ch = 0; ch < c; ++ch) {
        const float v = a.bias ? y[ch] + a.bias[ch] : y[ch];
        y[ch] = apply_activation_scalar(a.act, v);
      }
    }
  }
}

}  // namespace tfjs_infer::kernels::generic
