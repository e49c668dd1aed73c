// Portable windowed pooling (PoolArgs): the reference for the SIMD versions.
#include <cmath>

#include "kernels/isa_kernels.h"

namespace tfjs_infer::kernels::generic {

namespace {

inline int64_t lo(int64_t o, int64_t s, int64_t pad) {
  const int64_t v = o * s - pad;
  return v < 0 ? 0 : v;
}
inline int64_t hi(int64_t o, int64_t s, int64_t pad, int64_t k, int64_t in) {
  const int64_t v = o * s - pad + k;
  return v > in ? in : v;
}

// Output pixel (b, od, oh, ow) of a.zero_pad pooling into yo (initialized):
// all k cells of its window in (d, h, w) order, padded ones reading 0.
void zero_padded_window(const PoolArgs& a, int64_t b, int64_t od, int64_t oh, int64_t ow,
                        float* __restrict yo) {
  const int64_t c = a.c;
  const float* image = a.x + b * a.in_d * a.in_h * a.in_w * c;
  for (int64_t kd = 0; kd < a.k_d; ++kd)
    for (int64_t kh = 0; kh < a.k_h; ++kh)
      for (int64_t kw = 0; kw < a.k_w; ++kw) {
        const float* xv = pool_window_cell(a, image, od, oh, ow, kd, kh, kw);
        for (int64_t ch = 0; ch < c; ++ch) {
          const float v = xv ? xv[ch] : 0.0f;
          yo[ch] = a.max ? (v > yo[ch] ? v : yo[ch]) : yo[ch] + v;
        }
      }
  if (!a.max) {
    const float count = static_cast<float>(a.k_d * a.k_h * a.k_w);
    for (int64_t ch = 0; ch < c; ++ch) yo[ch] /= count;
  }
}

}  // namespace

void pool_f32(const PoolArgs& a) {
  const int64_t c = a.c;
  for (int64_t row = a.row_begin; row < a.row_end; ++row) {
    const int64_t oh = row % a.out_h;
    const int64_t od = (row / a.out_h) % a.out_d;
    const int64_t b = row / (a.out_h * a.out_d);
    const int64_t d0 = lo(od, a.s_d, a.pad_d), d1 = hi(od, a.s_d, a.pad_d, a.k_d, a.in_d);
    const int64_t h0 = lo(oh, a.s_h, a.pad_h), h1 = hi(oh, a.s_h, a.pad_h, a.k_h, a.in_h);
    for (int64_t ow = 0; ow < a.out_w; ++ow) {
      const int64_t w0 = lo(ow, a.s_w, a.pad_w), w1 = hi(ow, a.s_w, a.pad_w, a.k_w, a.in_w);
      float* __restrict yo = a.y + (row * a.out_w + ow) * c;
      for (int64_t ch = 0; ch < c; ++ch) yo[ch] = a.max ? a.max_init : 0.0f;
      if (a.zero_pad) {
        zero_padded_window(a, b, od, oh, ow, yo);
        continue;
      }
      for (int64_t d = d0; d < d1; ++d)
        for (int64_t h = h0; h < h1; ++h)
          for (int64_t w = w0; w < w1; ++w) {
            const float* __restrict xv = a.x + (((b * a.in_d + d) * a.in_h + h) * a.in_w + w) * c;
            if (a.max) {
              // `v > m ? v : m` skips NaN inputs, as TF.js's pool kernel does.
              for (int64_t ch = 0; ch < c; ++ch) yo[ch] = xv[ch] > yo[ch] ? xv[ch] : yo[ch];
            } else {
              for (int64_t ch = 0; ch < c; ++ch) yo[ch] += xv[ch];
            }
          }
      if (!a.max) {
        const float count = static_cast<float>((d1 - d0) * (h1 - h0) * (w1 - w0));
        for (int64_t ch = 0; ch < c; ++ch) yo[ch] /= count;
      }
    }
  }
}

}  // namespace tfjs_infer::kernels::generic
