// The im2col kernel family (Im2colArgs): gathers convolution windows into
// GEMM rows. Copies only; the body is shared by every ISA's translation unit
// and takes the copy of one run of floats from a policy (Copy::run(dst, src,
// n)): fixed-size chunks (CopyChunks) with baseline and AVX2 flags, vector
// and masked moves with AVX-512. Include only from one ISA's translation
// units; all in an anonymous namespace.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "kernels/kernel_args.h"

namespace tfjs_infer::kernels {
namespace {

// Short copies (a few channels of a tap) dominate im2col for thin inputs:
// fixed-size chunks compile to plain vector moves instead of memcpy calls
// (16-byte moves with baseline flags, 32-byte ones with AVX2).
struct CopyChunks {
  static void run(float* dst, const float* src, int64_t n) {
    // Fixed-size chunks, the last one overlapping the previous: no scalar tail.
    if (n >= 16) {
      int64_t i = 0;
      for (; i + 16 <= n; i += 16) std::memcpy(dst + i, src + i, 64);
      if (i < n) std::memcpy(dst + n - 16, src + n - 16, 64);
    } else if (n >= 8) {
      std::memcpy(dst, src, 32);
      std::memcpy(dst + n - 8, src + n - 8, 32);
    } else if (n >= 4) {
      std::memcpy(dst, src, 16);
      std::memcpy(dst + n - 4, src + n - 4, 16);
    } else {
      for (int64_t i = 0; i < n; ++i) dst[i] = src[i];
    }
  }
};

// n runs of N floats: dst rows ld apart, src rows ls apart.
template <int N>
inline void copy_thin(float* dst, int64_t ld, const float* src, int64_t ls, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    for (int j = 0; j < N; ++j) dst[i * ld + j] = src[i * ls + j];
}

inline void fill_zero(float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = 0.0f;
}

// The taps of the pixels [lo, hi) of one output row whose kw taps all lie
// inside the input, tap by tap: for thin inputs (first convs of images: 3 to
// 21 floats per tap run) per-pixel bookkeeping costs more than the copies.
template <class Copy>
void gather_thin(const Im2colArgs& a, const float* const* srcs, int64_t nkv, int64_t taps_run,
                 int64_t kg, float* d0, int64_t lo, int64_t hi) {
  for (int64_t t = 0; t < nkv; ++t) {
    float* d = d0 + t * taps_run;
    if (!srcs[t]) {
      for (int64_t ox = lo; ox < hi; ++ox, d += kg) fill_zero(d, taps_run);
      continue;
    }
    const float* src = srcs[t] + (lo * a.s[2] - a.pad[2]) * a.cin;
    const int64_t n = hi - lo, ls = a.s[2] * a.cin;
    switch (taps_run) {
      case 1:
        copy_thin<1>(d, kg, src, ls, n);
        break;
      case 2:
        copy_thin<2>(d, kg, src, ls, n);
        break;
      case 3:
        copy_thin<3>(d, kg, src, ls, n);
        break;
      case 4:
        copy_thin<4>(d, kg, src, ls, n);
        break;
      default:
        for (int64_t i = 0; i < n; ++i) Copy::run(d + i * kg, src + i * ls, taps_run);
        break;
    }
  }
}

// Walked one output row (oz, oy) at a time so the vertical taps are resolved
// once per row; without groups or dilation along W, the kw taps of a pixel
// inside the row are one run of kw * cin floats.
template <class Copy>
void im2col_body(const Im2colArgs& a) {
  const int64_t cin = a.cin, cin_g = a.cin_g;
  const int64_t kg = a.k[0] * a.k[1] * a.k[2] * cin_g;
  const int64_t in_row = a.in[2] * cin, in_plane = a.in[1] * in_row;
  const int64_t kw = a.k[2], taps_run = kw * cin_g, sw = a.s[2], dw = a.d[2];
  const bool runs = cin_g == cin && dw == 1;
  const int64_t span = (kw - 1) * dw;
  // Output columns whose kw taps are all inside the input row.
  const int64_t ox_in_lo = a.pad[2] <= 0 ? 0 : (a.pad[2] + sw - 1) / sw;
  const int64_t ox_in_hi =
      a.in[2] - 1 - span + a.pad[2] < 0 ? 0 : (a.in[2] - 1 - span + a.pad[2]) / sw + 1;
  const int64_t nkv = a.k[0] * a.k[1];
  const float* srcs[64];  // per (kz, ky): input row, or nullptr for padding
  const bool cache_rows = nkv <= 64;
  const int64_t r0 = a.row_begin, r_end = a.row_begin + a.rows;
  for (int64_t p = r0; p < r_end;) {
    const int64_t ox0 = p % a.out[2];
    const int64_t oy = (p / a.out[2]) % a.out[1];
    const int64_t oz = p / (a.out[2] * a.out[1]);
    const int64_t ox1 = std::min(a.out[2], ox0 + (r_end - p));
    auto row_src = [&](int64_t kz, int64_t ky) -> const float* {
      const int64_t iz = oz * a.s[0] - a.pad[0] + kz * a.d[0];
      const int64_t iy = oy * a.s[1] - a.pad[1] + ky * a.d[1];
      if (iz < 0 || iz >= a.in[0] || iy < 0 || iy >= a.in[1]) return nullptr;
      return a.x + iz * in_plane + iy * in_row + a.g * cin_g;
    };
    if (cache_rows)
      for (int64_t kz = 0; kz < a.k[0]; ++kz)
        for (int64_t ky = 0; ky < a.k[1]; ++ky) srcs[kz * a.k[1] + ky] = row_src(kz, ky);
    // Pixels [lo, hi) of this output row, pixel by pixel.
    auto gather = [&](int64_t lo, int64_t hi) {
      float* dst_row = a.buf + (p - r0 + lo - ox0) * kg;
      for (int64_t ox = lo; ox < hi; ++ox, dst_row += kg) {
        const int64_t ix0 = ox * sw - a.pad[2];
        const bool inside = runs && ox >= ox_in_lo && ox < ox_in_hi;
        float* dst = dst_row;
        for (int64_t t = 0; t < nkv; ++t, dst += taps_run) {
          const float* src = cache_rows ? srcs[t] : row_src(t / a.k[1], t % a.k[1]);
          if (!src) {
            fill_zero(dst, taps_run);
          } else if (inside) {
            Copy::run(dst, src + ix0 * cin, taps_run);
          } else {
            for (int64_t kx = 0; kx < kw; ++kx) {
              const int64_t ix = ix0 + kx * dw;
              if (ix >= 0 && ix < a.in[2]) {
                Copy::run(dst + kx * cin_g, src + ix * cin, cin_g);
              } else {
                fill_zero(dst + kx * cin_g, cin_g);
              }
            }
          }
        }
      }
    };
    if (cache_rows && runs && taps_run <= 32) {
      const int64_t lo = std::clamp(ox_in_lo, ox0, ox1), hi = std::clamp(ox_in_hi, lo, ox1);
      gather(ox0, lo);
      gather_thin<Copy>(a, srcs, nkv, taps_run, kg, a.buf + (p - r0 + lo - ox0) * kg, lo, hi);
      gather(hi, ox1);
    } else {
      gather(ox0, ox1);
    }
    p += ox1 - ox0;
  }
}

}  // namespace
}  // namespace tfjs_infer::kernels
