// Direct depthwise convolution over a traits class V (simd_avx2.h or
// simd_avx512.h), shared by depthwise_avx2.cpp and depthwise_avx512.cpp.
//
// Channels-last: every tap of every output pixel is a run of C contiguous
// channels, so a vector holds W channels of one pixel and a tap is one
// multiply-add per vector. Interior pixels (all kw taps inside the row) are
// done four at a time so each weight vector loaded serves four pixels; the
// border pixels skip their out-of-range taps.
//
// Order of operations, the same on every path and for every row split:
// acc = +0; acc = fma(x, w, acc) over the taps in (ky, kx) order, skipping
// padded taps; then acc + bias; then relu/relu6. Include after one simd_*.h.
#pragma once

#include <cstdint>

#include "kernels/kernel_args.h"

namespace tfjs_infer::kernels {
namespace {

enum class DwAct { kLinear, kRelu, kRelu6 };

template <class V, DwAct A>
inline typename V::F dw_finish(typename V::F acc, const float* bias, int64_t c, int64_t left) {
  if (bias) acc = V::add(acc, left >= V::kW ? V::loadu(bias + c) : V::load_n(bias + c, left));
  if constexpr (A == DwAct::kRelu) acc = V::max(acc, V::zero());
  if constexpr (A == DwAct::kRelu6) acc = V::min(V::max(acc, V::zero()), V::set1(6.0f));
  return acc;
}

inline int64_t ceil_div_nonneg(int64_t a, int64_t b) { return a <= 0 ? 0 : (a + b - 1) / b; }

// First tap kk with 0 <= i0 + kk * d, and one past the last with i0 + kk * d < n.
inline void tap_range(int64_t i0, int64_t d, int64_t k, int64_t n, int64_t& lo, int64_t& hi) {
  lo = ceil_div_nonneg(-i0, d);
  hi = n - i0 <= 0 ? 0 : ceil_div_nonneg(n - i0, d);
  if (hi > k) hi = k;
  if (lo > hi) lo = hi;
}

// One output pixel whose taps are ky in [ky0, ky1), kx in [kx0, kx1).
template <class V, DwAct A>
void dw_pixel(const DepthwiseArgs& a, const float* x_tap00, float* y, int64_t ky0, int64_t ky1,
              int64_t kx0, int64_t kx1) {
  constexpr int W = V::kW;
  const int64_t C = a.c;
  const int64_t row_step = a.dil_h * a.in_w * C, col_step = a.dil_w * C;
  for (int64_t c = 0; c < C; c += W) {
    const int64_t left = C - c;
    const bool full = left >= W;
    typename V::F acc = V::zero();
    for (int64_t ky = ky0; ky < ky1; ++ky) {
      const float* xr = x_tap00 + ky * row_step + c;
      const float* wr = a.w + ky * a.kw * C + c;
      for (int64_t kx = kx0; kx < kx1; ++kx) {
        const float* xp = xr + kx * col_step;
        const float* wp = wr + kx * C;
        acc = full ? V::fmadd(V::loadu(xp), V::loadu(wp), acc)
                   : V::fmadd(V::load_n(xp, left), V::load_n(wp, left), acc);
      }
    }
    acc = dw_finish<V, A>(acc, a.bias, c, left);
    if (full) {
      V::storeu(y + c, acc);
    } else {
      V::store_n(y + c, acc, left);
    }
  }
}

// Four neighbouring interior pixels (all kw taps in range) at once.
template <class V, DwAct A>
void dw_pixels4(const DepthwiseArgs& a, const float* x_tap00, float* y, int64_t ky0,
                int64_t ky1) {
  constexpr int W = V::kW;
  const int64_t C = a.c;
  const int64_t row_step = a.dil_h * a.in_w * C, col_step = a.dil_w * C;
  const int64_t px = a.stride_w * C;  // between neighbouring pixels' inputs
  for (int64_t c = 0; c < C; c += W) {
    const int64_t left = C - c;
    const bool full = left >= W;
    typename V::F acc0 = V::zero(), acc1 = V::zero(), acc2 = V::zero(), acc3 = V::zero();
    for (int64_t ky = ky0; ky < ky1; ++ky) {
      const float* xr = x_tap00 + ky * row_step + c;
      const float* wr = a.w + ky * a.kw * C + c;
      for (int64_t kx = 0; kx < a.kw; ++kx) {
        const float* xp = xr + kx * col_step;
        if (full) {
          const typename V::F w = V::loadu(wr + kx * C);
          acc0 = V::fmadd(V::loadu(xp), w, acc0);
          acc1 = V::fmadd(V::loadu(xp + px), w, acc1);
          acc2 = V::fmadd(V::loadu(xp + 2 * px), w, acc2);
          acc3 = V::fmadd(V::loadu(xp + 3 * px), w, acc3);
        } else {
          const typename V::F w = V::load_n(wr + kx * C, left);
          acc0 = V::fmadd(V::load_n(xp, left), w, acc0);
          acc1 = V::fmadd(V::load_n(xp + px, left), w, acc1);
          acc2 = V::fmadd(V::load_n(xp + 2 * px, left), w, acc2);
          acc3 = V::fmadd(V::load_n(xp + 3 * px, left), w, acc3);
        }
      }
    }
    typename V::F out[4] = {acc0, acc1, acc2, acc3};
    for (int p = 0; p < 4; ++p) {
      const typename V::F v = dw_finish<V, A>(out[p], a.bias, c, left);
      if (full) {
        V::storeu(y + p * C + c, v);
      } else {
        V::store_n(y + p * C + c, v, left);
      }
    }
  }
}

template <class V, DwAct A>
void depthwise_rows(const DepthwiseArgs& a) {
  const int64_t C = a.c;
  // Output columns whose kw taps all fall inside the input row.
  const int64_t span = (a.kw - 1) * a.dil_w;
  int64_t ox_lo = ceil_div_nonneg(a.pad_left, a.stride_w);
  int64_t ox_hi = a.in_w - 1 - span + a.pad_left < 0
                      ? 0
                      : (a.in_w - 1 - span + a.pad_left) / a.stride_w + 1;
  if (ox_hi > a.out_w) ox_hi = a.out_w;
  if (ox_lo > ox_hi) ox_lo = ox_hi;
  for (int64_t oy = a.row_begin; oy < a.row_end; ++oy) {
    const int64_t iy0 = oy * a.stride_h - a.pad_top;
    int64_t ky0, ky1;
    tap_range(iy0, a.dil_h, a.kh, a.in_h, ky0, ky1);
    // Address of tap (0, 0) of pixel ox; only taps in range are dereferenced.
    auto x_at = [&](int64_t ox) {
      return a.x + (iy0 * a.in_w + ox * a.stride_w - a.pad_left) * C;
    };
    float* y_row = a.y + oy * a.out_w * C;
    auto border = [&](int64_t ox) {
      int64_t kx0, kx1;
      tap_range(ox * a.stride_w - a.pad_left, a.dil_w, a.kw, a.in_w, kx0, kx1);
      dw_pixel<V, A>(a, x_at(ox), y_row + ox * C, ky0, ky1, kx0, kx1);
    };
    for (int64_t ox = 0; ox < ox_lo; ++ox) border(ox);
    int64_t ox = ox_lo;
    for (; ox + 4 <= ox_hi; ox += 4) dw_pixels4<V, A>(a, x_at(ox), y_row + ox * C, ky0, ky1);
    for (; ox < ox_hi; ++ox) dw_pixel<V, A>(a, x_at(ox), y_row + ox * C, ky0, ky1, 0, a.kw);
    for (ox = ox_hi; ox < a.out_w; ++ox) border(ox);
  }
}

template <class V>
void depthwise(const DepthwiseArgs& a) {
  switch (a.act.kind) {
    case ActKind::kRelu:
      depthwise_rows<V, DwAct::kRelu>(a);
      break;
    case ActKind::kRelu6:
      depthwise_rows<V, DwAct::kRelu6>(a);
      break;
    default:
      depthwise_rows<V, DwAct::kLinear>(a);
      break;
  }
}

}  // namespace
}  // namespace tfjs_infer::kernels
