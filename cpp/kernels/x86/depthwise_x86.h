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
#include <type_traits>

#include "kernels/kernel_args.h"

namespace tfjs_infer::kernels {
namespace {

enum class DwAct { kLinear, kRelu, kRelu6 };

// The output element: float, or what V names as DwOut (depthwise_avx512bf16.cpp:
// bfloat16 bits, with V::storeu / V::store_n rounding as they store).
template <class V, class = void>
struct DwOutOf {
  using T = float;
};
template <class V>
struct DwOutOf<V, std::void_t<typename V::DwOut>> {
  using T = typename V::DwOut;
};
template <class V>
using DwOut = typename DwOutOf<V>::T;

template <class V, DwAct A>
inline typename V::F dw_finish(typename V::F acc, const float* bias, int64_t c, int64_t left) {
  if (bias) acc = V::add(acc, left >= V::kW ? V::loadu(bias + c) : V::load_n(bias + c, left));
  // Operand order keeps NaN (x86 max/min return the second operand on NaN).
  if constexpr (A == DwAct::kRelu) acc = V::max(V::zero(), acc);
  if constexpr (A == DwAct::kRelu6) acc = V::min(V::set1(6.0f), V::max(V::zero(), acc));
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

// One output pixel whose taps are ky in [ky0, ky1), kx in [kx0, kx1): four
// channel blocks at a time (four independent FMA chains), then single ones.
template <class V, DwAct A>
void dw_pixel(const DepthwiseArgs& a, const float* x_tap00, DwOut<V>* y, int64_t ky0, int64_t ky1,
              int64_t kx0, int64_t kx1) {
  using F = typename V::F;
  constexpr int W = V::kW;
  const int64_t C = a.c;
  const int64_t row_step = a.dil_h * a.in_w * C, col_step = a.dil_w * C;
  int64_t c = 0;
  for (; c + 4 * W <= C; c += 4 * W) {
    F acc0 = V::zero(), acc1 = V::zero(), acc2 = V::zero(), acc3 = V::zero();
    for (int64_t ky = ky0; ky < ky1; ++ky) {
      for (int64_t kx = kx0; kx < kx1; ++kx) {
        const float* xp = x_tap00 + ky * row_step + kx * col_step + c;
        const float* wp = a.w + (ky * a.kw + kx) * C + c;
        acc0 = V::fmadd(V::loadu(xp), V::loadu(wp), acc0);
        acc1 = V::fmadd(V::loadu(xp + W), V::loadu(wp + W), acc1);
        acc2 = V::fmadd(V::loadu(xp + 2 * W), V::loadu(wp + 2 * W), acc2);
        acc3 = V::fmadd(V::loadu(xp + 3 * W), V::loadu(wp + 3 * W), acc3);
      }
    }
    V::storeu(y + c, dw_finish<V, A>(acc0, a.bias, c, W));
    V::storeu(y + c + W, dw_finish<V, A>(acc1, a.bias, c + W, W));
    V::storeu(y + c + 2 * W, dw_finish<V, A>(acc2, a.bias, c + 2 * W, W));
    V::storeu(y + c + 3 * W, dw_finish<V, A>(acc3, a.bias, c + 3 * W, W));
  }
  for (; c < C; c += W) {
    const int64_t left = C - c;
    const bool full = left >= W;
    F acc = V::zero();
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
void dw_pixels4(const DepthwiseArgs& a, const float* x_tap00, DwOut<V>* y, int64_t ky0,
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

// Interior pixels [ox_lo, ox_hi) of one output row for a K x K kernel, one
// channel block at a time with its K * K weight vectors held in registers
// (each weight is loaded once per block and row instead of once per pixel).
// Taps of rows outside [ky0, ky1) are skipped, as in dw_pixel.
template <class V, DwAct A, int K, bool Full>
inline void dw_block_kxk(const DepthwiseArgs& a, const float* x_row0, DwOut<V>* y_row,
                         int64_t ox_lo, int64_t ox_hi, int64_t ky0, int64_t ky1, int64_t c,
                         int64_t left) {
  using F = typename V::F;
  const int64_t C = a.c;
  const int64_t row_step = a.dil_h * a.in_w * C, col_step = a.dil_w * C;
  const int64_t px = a.stride_w * C;
  auto load = [&](const float* p) { return Full ? V::loadu(p) : V::load_n(p, left); };
  F w[K * K];
#pragma GCC unroll 25
  for (int t = 0; t < K * K; ++t) w[t] = load(a.w + t * C + c);
  auto store = [&](DwOut<V>* p, F v) {
    v = dw_finish<V, A>(v, a.bias, c, left);
    if (Full) {
      V::storeu(p, v);
    } else {
      V::store_n(p, v, left);
    }
  };
  // Column offsets of the K taps, and the K rows' pointers per pixel group:
  // simple [base + index * 4] addressing keeps everything in registers.
  int64_t col[K];
  for (int kx = 0; kx < K; ++kx) col[kx] = kx * col_step;
  // P pixels per group: P independent accumulator chains hide the FMA
  // latency (each chain is one output and must stay in tap order).
  constexpr int P = V::kW == 16 ? 8 : 4;
  int64_t ox = ox_lo;
  for (; ox + P <= ox_hi; ox += P) {
    const float* b[P];
#pragma GCC unroll 8
    for (int p = 0; p < P; ++p) {
      b[p] = x_row0 + (ox + p) * px + c;
#if defined(__GNUC__)
      // Opaque to the optimiser: otherwise it hoists all P K K tap addresses
      // out of the pixel loop and spills them (GPRs run out).
      __asm__("" : "+r"(b[p]));
#endif
    }
    F acc[P];
#pragma GCC unroll 8
    for (int p = 0; p < P; ++p) acc[p] = V::zero();
#pragma GCC unroll 5
    for (int ky = 0; ky < K; ++ky) {
      if (ky < ky0 || ky >= ky1) continue;
      const int64_t ro = ky * row_step;
#pragma GCC unroll 5
      for (int kx = 0; kx < K; ++kx) {
        const F wv = w[ky * K + kx];
        const int64_t o = ro + col[kx];
#pragma GCC unroll 8
        for (int p = 0; p < P; ++p) acc[p] = V::fmadd(load(b[p] + o), wv, acc[p]);
      }
    }
    DwOut<V>* yp = y_row + ox * C + c;
#pragma GCC unroll 8
    for (int p = 0; p < P; ++p) store(yp + p * C, acc[p]);
  }
  for (; ox < ox_hi; ++ox) {
    const float* xp = x_row0 + ox * px + c;
    F acc = V::zero();
#pragma GCC unroll 5
    for (int ky = 0; ky < K; ++ky) {
      if (ky < ky0 || ky >= ky1) continue;
#pragma GCC unroll 5
      for (int kx = 0; kx < K; ++kx)
        acc = V::fmadd(load(xp + ky * row_step + kx * col_step), w[ky * K + kx], acc);
    }
    store(y_row + ox * C + c, acc);
  }
}

// Dilation 1, stride S: neighbouring pixels share input columns, so each
// input vector is loaded once and multiplied into every accumulator whose
// window holds it (G + ... loads instead of G K per kernel row). Within one
// accumulator the taps still arrive in kx order (columns are visited left to
// right), so the result is bitwise that of dw_pixel. G pixels (G independent
// FMA chains) starting at column ox; weights w[K K] held in registers.
template <class V, DwAct A, int K, int S, bool Full, int G>
inline void dw_slide_group(const DepthwiseArgs& a, const typename V::F* w, const float* x_row0,
                           DwOut<V>* y_row, int64_t ox, int64_t ky0, int64_t ky1, int64_t c,
                           int64_t left) {
  using F = typename V::F;
  constexpr int J = (G - 1) * S + K;  // input columns the G pixels read
  const int64_t C = a.c;
  const int64_t row_step = a.dil_h * a.in_w * C;
  const float* base = x_row0 + ox * S * C + c;
  F acc[G];
#pragma GCC unroll 8
  for (int p = 0; p < G; ++p) acc[p] = V::zero();
#pragma GCC unroll 5
  for (int ky = 0; ky < K; ++ky) {
    if (ky < ky0 || ky >= ky1) continue;
    const float* q = base + ky * row_step;
#pragma GCC unroll 32
    for (int j = 0; j < J; ++j) {
      const F xv = Full ? V::loadu(q) : V::load_n(q, left);
      q += C;
#if defined(__GNUC__)
      // Keep q one register bumped per column: otherwise the optimiser turns
      // every column of every row into its own hoisted pointer and spills them.
      __asm__("" : "+r"(q));
#endif
#pragma GCC unroll 8
      for (int p = 0; p < G; ++p) {
        const int kx = j - p * S;
        if (kx >= 0 && kx < K) acc[p] = V::fmadd(xv, w[ky * K + kx], acc[p]);
      }
    }
  }
  DwOut<V>* yp = y_row + ox * C + c;
#pragma GCC unroll 8
  for (int p = 0; p < G; ++p) {
    const F v = dw_finish<V, A>(acc[p], a.bias, c, left);
    if (Full) {
      V::storeu(yp + p * C, v);
    } else {
      V::store_n(yp + p * C, v, left);
    }
  }
}

template <class V, DwAct A, int K, int S, bool Full>
inline void dw_block_slide(const DepthwiseArgs& a, const float* x_row0, DwOut<V>* y_row,
                           int64_t ox_lo, int64_t ox_hi, int64_t ky0, int64_t ky1, int64_t c,
                           int64_t left) {
  using F = typename V::F;
  constexpr int P = V::kW == 16 ? 8 : 4;
  F w[K * K];
#pragma GCC unroll 25
  for (int t = 0; t < K * K; ++t)
    w[t] = Full ? V::loadu(a.w + t * a.c + c) : V::load_n(a.w + t * a.c + c, left);
  int64_t ox = ox_lo;
  for (; ox + P <= ox_hi; ox += P)
    dw_slide_group<V, A, K, S, Full, P>(a, w, x_row0, y_row, ox, ky0, ky1, c, left);
  if (P > 4 && ox + 4 <= ox_hi) {
    dw_slide_group<V, A, K, S, Full, 4>(a, w, x_row0, y_row, ox, ky0, ky1, c, left);
    ox += 4;
  }
  if (ox + 2 <= ox_hi) {
    dw_slide_group<V, A, K, S, Full, 2>(a, w, x_row0, y_row, ox, ky0, ky1, c, left);
    ox += 2;
  }
  if (ox < ox_hi) dw_slide_group<V, A, K, S, Full, 1>(a, w, x_row0, y_row, ox, ky0, ky1, c, left);
}

template <class V, DwAct A, int K, int S>
void dw_interior_slide(const DepthwiseArgs& a, const float* x_row0, DwOut<V>* y_row, int64_t ox_lo,
                       int64_t ox_hi, int64_t ky0, int64_t ky1) {
  constexpr int W = V::kW;
  int64_t c = 0;
  for (; c + W <= a.c; c += W)
    dw_block_slide<V, A, K, S, true>(a, x_row0, y_row, ox_lo, ox_hi, ky0, ky1, c, W);
  if (c < a.c)
    dw_block_slide<V, A, K, S, false>(a, x_row0, y_row, ox_lo, ox_hi, ky0, ky1, c, a.c - c);
}

template <class V, DwAct A, int K>
void dw_interior_kxk(const DepthwiseArgs& a, const float* x_row0, DwOut<V>* y_row, int64_t ox_lo,
                     int64_t ox_hi, int64_t ky0, int64_t ky1) {
  constexpr int W = V::kW;
  int64_t c = 0;
  for (; c + W <= a.c; c += W)
    dw_block_kxk<V, A, K, true>(a, x_row0, y_row, ox_lo, ox_hi, ky0, ky1, c, W);
  if (c < a.c) dw_block_kxk<V, A, K, false>(a, x_row0, y_row, ox_lo, ox_hi, ky0, ky1, c, a.c - c);
}

template <class V>
DwOut<V>* dw_out(const DepthwiseArgs& a) {
  if constexpr (std::is_same_v<DwOut<V>, float>) {
    return a.y;
  } else {
    return a.y_bf16;
  }
}

template <class V, DwAct A>
void depthwise_rows(const DepthwiseArgs& a) {
  const int64_t C = a.c;
  // Output columns whose kw taps all fall inside the input row.
  const int64_t span = (a.kw - 1) * a.dil_w;
  int64_t ox_lo = ceil_div_nonneg(a.pad_left, a.stride_w);
  int64_t ox_hi =
      a.in_w - 1 - span + a.pad_left < 0 ? 0 : (a.in_w - 1 - span + a.pad_left) / a.stride_w + 1;
  if (ox_hi > a.out_w) ox_hi = a.out_w;
  if (ox_lo > ox_hi) ox_lo = ox_hi;
  DwOut<V>* const out = dw_out<V>(a);
  for (int64_t oy = a.row_begin; oy < a.row_end; ++oy) {
    const int64_t iy0 = oy * a.stride_h - a.pad_top;
    int64_t ky0, ky1;
    tap_range(iy0, a.dil_h, a.kh, a.in_h, ky0, ky1);
    // Address of tap (0, 0) of pixel ox; only taps in range are dereferenced.
    auto x_at = [&](int64_t ox) { return a.x + (iy0 * a.in_w + ox * a.stride_w - a.pad_left) * C; };
    DwOut<V>* y_row = out + oy * a.out_w * C;
    auto border = [&](int64_t ox) {
      int64_t kx0, kx1;
      tap_range(ox * a.stride_w - a.pad_left, a.dil_w, a.kw, a.in_w, kx0, kx1);
      dw_pixel<V, A>(a, x_at(ox), y_row + ox * C, ky0, ky1, kx0, kx1);
    };
    for (int64_t ox = 0; ox < ox_lo; ++ox) border(ox);
    const bool undilated = a.dil_w == 1;
    if (a.kh == 3 && a.kw == 3 && undilated && a.stride_w == 1) {
      dw_interior_slide<V, A, 3, 1>(a, x_at(0), y_row, ox_lo, ox_hi, ky0, ky1);
    } else if (a.kh == 3 && a.kw == 3 && undilated && a.stride_w == 2) {
      dw_interior_slide<V, A, 3, 2>(a, x_at(0), y_row, ox_lo, ox_hi, ky0, ky1);
    } else if (a.kh == 3 && a.kw == 3) {
      dw_interior_kxk<V, A, 3>(a, x_at(0), y_row, ox_lo, ox_hi, ky0, ky1);
    } else if (a.kh == 5 && a.kw == 5 && V::kW == 16) {
      dw_interior_kxk<V, A, 5>(a, x_at(0), y_row, ox_lo, ox_hi, ky0, ky1);
    } else {
      int64_t ox = ox_lo;
      for (; ox + 4 <= ox_hi; ox += 4) dw_pixels4<V, A>(a, x_at(ox), y_row + ox * C, ky0, ky1);
      for (; ox < ox_hi; ++ox) dw_pixel<V, A>(a, x_at(ox), y_row + ox * C, ky0, ky1, 0, a.kw);
    }
    for (int64_t ox = ox_hi; ox < a.out_w; ++ox) border(ox);
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
