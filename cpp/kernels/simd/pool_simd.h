// Windowed max/average pooling over a vector traits class V (PoolArgs).
// Channels are the contiguous axis: each block of up to 4 vectors of
// channels keeps its accumulators in registers while the window cells stream
// by, in the same (d, h, w) order as kernels/generic/pool_generic.cpp, so the
// sums (and of course the maxima) are bitwise those of the generic kernel.
//
// Include only from one ISA's translation units; all in an anonymous namespace.
#pragma once

#include <cstdint>

#include "kernels/kernel_args.h"

namespace tfjs_infer::kernels {
namespace {

inline int64_t pool_lo(int64_t o, int64_t s, int64_t pad) {
  const int64_t v = o * s - pad;
  return v < 0 ? 0 : v;
}
inline int64_t pool_hi(int64_t o, int64_t s, int64_t pad, int64_t k, int64_t in) {
  const int64_t v = o * s - pad + k;
  return v > in ? in : v;
}

// A block's accumulators to its output channels: averages divided by the
// window's cell count; the last vector partial when `tail` lanes (0: full).
template <class V, bool kMax, int U>
inline void finish_block(typename V::F* acc, int64_t cells, int64_t tail, float* out) {
  if (!kMax) {
    const typename V::F count = V::set1(static_cast<float>(cells));
    for (int u = 0; u < U; ++u) acc[u] = V::div(acc[u], count);
  }
  for (int u = 0; u < U; ++u) {
    if (tail != 0 && u == U - 1)
      V::store_n(out + u * V::kW, acc[u], tail);
    else
      V::storeu(out + u * V::kW, acc[u]);
  }
}

// One output pixel, channels [c0, c0 + U * kW) (the last vector may be partial:
// `tail` lanes, 0 meaning full).
template <class V, bool kMax, int U>
inline void pool_block(const PoolArgs& a, const float* base, int64_t d0, int64_t d1, int64_t h0,
                       int64_t h1, int64_t w0, int64_t w1, int64_t c0, int64_t tail, float* yo) {
  using F = typename V::F;
  const F init = kMax ? V::set1(a.max_init) : V::zero();
  F acc[U];
  for (int u = 0; u < U; ++u) acc[u] = init;
  const int64_t row_stride = a.in_w * a.c, plane_stride = a.in_h * row_stride;
  for (int64_t d = d0; d < d1; ++d)
    for (int64_t h = h0; h < h1; ++h) {
      const float* p = base + d * plane_stride + h * row_stride + w0 * a.c + c0;
      for (int64_t w = w0; w < w1; ++w, p += a.c) {
        for (int u = 0; u < U; ++u) {
          const bool partial = tail != 0 && u == U - 1;
          const F v = partial ? V::load_n_or(p + u * V::kW, tail, init) : V::loadu(p + u * V::kW);
          // max(v, acc): x86 returns acc when v is NaN, as the generic `v > m ? v : m`.
          acc[u] = kMax ? V::max(v, acc[u]) : V::add(acc[u], v);
        }
      }
    }
  finish_block<V, kMax, U>(acc, (d1 - d0) * (h1 - h0) * (w1 - w0), tail, yo + c0);
}

// pool_block for a.zero_pad windows that reach into the padding: all k
// cells in (d, h, w) order, padded ones reading +0 (as the generic kernel).
template <class V, bool kMax, int U>
inline void pool_block_zero_pad(const PoolArgs& a, const float* base, int64_t od, int64_t oh,
                                int64_t ow, int64_t c0, int64_t tail, float* yo) {
  using F = typename V::F;
  const F init = kMax ? V::set1(a.max_init) : V::zero();
  F acc[U];
  for (int u = 0; u < U; ++u) acc[u] = init;
  for (int64_t kd = 0; kd < a.k_d; ++kd)
    for (int64_t kh = 0; kh < a.k_h; ++kh)
      for (int64_t kw = 0; kw < a.k_w; ++kw) {
        const float* cell = pool_window_cell(a, base, od, oh, ow, kd, kh, kw);
        for (int u = 0; u < U; ++u) {
          const bool partial = tail != 0 && u == U - 1;
          F v = V::zero();
          if (cell) {
            const float* p = cell + c0 + u * V::kW;
            v = partial ? V::load_n_or(p, tail, init) : V::loadu(p);
          }
          acc[u] = kMax ? V::max(v, acc[u]) : V::add(acc[u], v);
        }
      }
  finish_block<V, kMax, U>(acc, a.k_d * a.k_h * a.k_w, tail, yo + c0);
}

// One output pixel of a.zero_pad pooling whose window reaches into the padding.
template <class V, bool kMax>
void pool_pixel_zero_pad(const PoolArgs& a, const float* base, int64_t od, int64_t oh, int64_t ow,
                         float* yo) {
  const int64_t c = a.c, w = V::kW;
  int64_t c0 = 0;
  for (; c0 + 4 * w <= c; c0 += 4 * w)
    pool_block_zero_pad<V, kMax, 4>(a, base, od, oh, ow, c0, 0, yo);
  for (; c0 + w <= c; c0 += w) pool_block_zero_pad<V, kMax, 1>(a, base, od, oh, ow, c0, 0, yo);
  if (c0 < c) pool_block_zero_pad<V, kMax, 1>(a, base, od, oh, ow, c0, c - c0, yo);
}

template <class V, bool kMax>
void pool_rows(const PoolArgs& a) {
  const int64_t c = a.c, w = V::kW;
  for (int64_t row = a.row_begin; row < a.row_end; ++row) {
    const int64_t oh = row % a.out_h;
    const int64_t od = (row / a.out_h) % a.out_d;
    const int64_t b = row / (a.out_h * a.out_d);
    const int64_t d0 = pool_lo(od, a.s_d, a.pad_d), d1 = pool_hi(od, a.s_d, a.pad_d, a.k_d, a.in_d);
    const int64_t h0 = pool_lo(oh, a.s_h, a.pad_h), h1 = pool_hi(oh, a.s_h, a.pad_h, a.k_h, a.in_h);
    const float* base = a.x + b * a.in_d * a.in_h * a.in_w * c;
    for (int64_t ow = 0; ow < a.out_w; ++ow) {
      const int64_t w0 = pool_lo(ow, a.s_w, a.pad_w),
                    w1 = pool_hi(ow, a.s_w, a.pad_w, a.k_w, a.in_w);
      float* yo = a.y + (row * a.out_w + ow) * c;
      // A window inside the input has no padded cells: the plain path is the
      // zero-padded one's.
      if (a.zero_pad && (d1 - d0 < a.k_d || h1 - h0 < a.k_h || w1 - w0 < a.k_w)) {
        pool_pixel_zero_pad<V, kMax>(a, base, od, oh, ow, yo);
        continue;
      }
      int64_t c0 = 0;
      for (; c0 + 4 * w <= c; c0 += 4 * w)
        pool_block<V, kMax, 4>(a, base, d0, d1, h0, h1, w0, w1, c0, 0, yo);
      // Two vectors in one pass over the window (32 channels with AVX-512:
      // the window loop's bookkeeping is most of a small window's time).
      for (; c0 + 2 * w <= c; c0 += 2 * w)
        pool_block<V, kMax, 2>(a, base, d0, d1, h0, h1, w0, w1, c0, 0, yo);
      for (; c0 + w <= c; c0 += w)
        pool_block<V, kMax, 1>(a, base, d0, d1, h0, h1, w0, w1, c0, 0, yo);
      if (c0 < c) pool_block<V, kMax, 1>(a, base, d0, d1, h0, h1, w0, w1, c0, c - c0, yo);
    }
  }
}

template <class V>
void pool_simd(const PoolArgs& a) {
  if (a.max)
    pool_rows<V, true>(a);
  else
    pool_rows<V, false>(a);
}

}  // namespace
}  // namespace tfjs_infer::kernels
