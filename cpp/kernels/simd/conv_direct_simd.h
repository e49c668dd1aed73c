// A small convolution computed directly (ConvDirectArgs), over a vector traits
// class V: each block of P output pixels keeps its accumulators (NV vectors of
// filters each) in registers over the whole reduction, reading the windows in
// the image itself (no im2col rows, no padded copy), and applies the GEMM's
// epilogue there. A pixel whose window reaches into the padding reads a copy
// of its window with zeros in the padding, so it takes the same FMAs as its
// zero-padded im2col row. Per value the same FMAs in the same k order as
// gemm_tile (kernels/simd/gemm_simd.h), then the same bias add and activation
// (epi_simple): bitwise gemm_f32 on the im2col rows.
//
// Include only from one ISA's translation units; all in an anonymous namespace.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "kernels/kernel_args.h"
#include "kernels/simd/gemm_simd.h"
#include "kernels/simd/window_fma_simd.h"

namespace tfjs_infer::kernels {
namespace {

// Where a block of P pixels reads its windows and writes its values.
template <int P>
struct ConvDirectBlock {
  const float* corner[P];
  float* y[P];
};

// Tap kk's offset from a window's corner: in the image (ky rows of in_w cin
// floats, then kx cin + ci) and in a copied window (kk itself); once per call.
// Also the output columns whose windows lie inside the image horizontally.
struct ConvDirectGeometry {
  int64_t kg, x_lo, x_hi;
  int32_t tap[kConvDirectMaxTaps];
  int32_t dense[kConvDirectMaxTaps];

  explicit ConvDirectGeometry(const ConvDirectArgs& a) {
    kg = a.kh * a.kw * a.cin;
    int64_t kk = 0;
    for (int64_t ky = 0; ky < a.kh; ++ky)
      for (int64_t t = 0; t < a.kw * a.cin; ++t, ++kk) {
        tap[kk] = static_cast<int32_t>(ky * a.in_w * a.cin + t);
        dense[kk] = static_cast<int32_t>(kk);
      }
    // ox s_w - pad_l >= 0 and ox s_w - pad_l + kw <= in_w.
    x_lo = std::min(a.out_w, (a.pad_l + a.s_w - 1) / a.s_w);
    const int64_t last = a.in_w - a.kw + a.pad_l;
    x_hi = last < 0 ? x_lo : std::clamp(last / a.s_w + 1, x_lo, a.out_w);
  }
};

// Filters [j0, j0 + NV W) (the last vector partial past cout) of one block;
// tap: the offsets the block's windows take (geo.tap or geo.dense).
template <class V, int P, int NV, Epi E>
inline void conv_direct_cols(const ConvDirectArgs& a, int64_t kg, const int32_t* tap,
                             const ConvDirectBlock<P>& blk, int64_t j0) {
  using F = typename V::F;
  constexpr int W = V::kW;
  F acc[P][NV];
  window_fma<V, P, NV>(acc, blk.corner, tap, kg, a.w + j0, a.ldw);
  F bias[NV];
#pragma GCC unroll 16
  for (int v = 0; v < NV; ++v) bias[v] = a.bias ? V::loadu(a.bias + j0 + v * W) : V::zero();
#pragma GCC unroll 16
  for (int p = 0; p < P; ++p) {
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) {
      F x = acc[p][v];
      if (a.bias) x = V::add(x, bias[v]);
      x = epi_simple<V, E>(x);
      const int64_t col = j0 + v * W, left = a.cout - col;
      if (left >= W) {
        V::storeu(blk.y[p] + col, x);
      } else if (left > 0) {
        V::store_n(blk.y[p] + col, x, left);
      }
    }
  }
}

// All filters of one block: NV-vector column blocks, then single vectors.
template <class V, int P, int NV, Epi E>
inline void conv_direct_block(const ConvDirectArgs& a, int64_t kg, const int32_t* tap,
                              const ConvDirectBlock<P>& blk) {
  constexpr int W = V::kW;
  const int64_t vecs = (a.cout + W - 1) / W;
  int64_t v0 = 0;
  for (; v0 + NV <= vecs; v0 += NV) conv_direct_cols<V, P, NV, E>(a, kg, tap, blk, v0 * W);
  for (; v0 < vecs; ++v0) conv_direct_cols<V, P, 1, E>(a, kg, tap, blk, v0 * W);
}

// Pixels [ox0, ox0 + P) of row oy, their windows inside the image.
template <class V, int P, int NV, Epi E>
inline void conv_direct_inside(const ConvDirectArgs& a, const ConvDirectGeometry& geo, int64_t oy,
                               int64_t ox0) {
  ConvDirectBlock<P> blk;
  const float* first = a.x + ((oy * a.s_h - a.pad_t) * a.in_w + ox0 * a.s_w - a.pad_l) * a.cin;
  float* y = a.y + (oy * a.out_w + ox0) * a.cout;
#pragma GCC unroll 16
  for (int p = 0; p < P; ++p) {
    blk.corner[p] = first + p * a.s_w * a.cin;
    blk.y[p] = y + p * a.cout;
  }
  conv_direct_block<V, P, NV, E>(a, geo.kg, geo.tap, blk);
}

// Pixel (oy, ox)'s window into win (kg floats), +0 where it reaches into the
// padding.
inline void conv_direct_copy_window(const ConvDirectArgs& a, int64_t oy, int64_t ox, float* win) {
  const int64_t iy0 = oy * a.s_h - a.pad_t, ix0 = ox * a.s_w - a.pad_l;
  for (int64_t ky = 0; ky < a.kh; ++ky) {
    const int64_t iy = iy0 + ky;
    for (int64_t kx = 0; kx < a.kw; ++kx, win += a.cin) {
      const int64_t ix = ix0 + kx;
      if (iy < 0 || iy >= a.in_h || ix < 0 || ix >= a.in_w) {
        std::fill(win, win + a.cin, 0.0f);
      } else {
        std::memcpy(win, a.x + (iy * a.in_w + ix) * a.cin,
                    static_cast<size_t>(a.cin) * sizeof(float));
      }
    }
  }
}

// Pixels [ox0, ox0 + P) of row oy through copies of their windows (some reach
// into the padding).
template <class V, int P, int NV, Epi E>
inline void conv_direct_copied(const ConvDirectArgs& a, const ConvDirectGeometry& geo, int64_t oy,
                               int64_t ox0, float* win) {
  ConvDirectBlock<P> blk;
  float* y = a.y + (oy * a.out_w + ox0) * a.cout;
  for (int p = 0; p < P; ++p) {
    conv_direct_copy_window(a, oy, ox0 + p, win + p * geo.kg);
    blk.corner[p] = win + p * geo.kg;
    blk.y[p] = y + p * a.cout;
  }
  conv_direct_block<V, P, NV, E>(a, geo.kg, geo.dense, blk);
}

// Pixels [x0, x1) of row oy through copied windows: blocks of P, then single.
template <class V, int P, int NV, Epi E>
void conv_direct_copied_run(const ConvDirectArgs& a, const ConvDirectGeometry& geo, int64_t oy,
                            int64_t x0, int64_t x1, float* win) {
  int64_t ox = x0;
  for (; ox + P <= x1; ox += P) conv_direct_copied<V, P, NV, E>(a, geo, oy, ox, win);
  for (; ox < x1; ++ox) conv_direct_copied<V, 1, NV, E>(a, geo, oy, ox, win);
}

template <class V, int P, int NV, Epi E>
void conv_direct_rows(const ConvDirectArgs& a) {
  const ConvDirectGeometry geo(a);
  alignas(64) float win[P * kConvDirectMaxTaps];
  for (int64_t oy = a.row_begin; oy < a.row_end; ++oy) {
    const int64_t iy0 = oy * a.s_h - a.pad_t;
    const bool rows_inside = iy0 >= 0 && iy0 + a.kh <= a.in_h;
    const int64_t lo = rows_inside ? geo.x_lo : a.out_w, hi = rows_inside ? geo.x_hi : a.out_w;
    conv_direct_copied_run<V, P, NV, E>(a, geo, oy, 0, lo, win);
    int64_t ox = lo;
    for (; ox + P <= hi; ox += P) conv_direct_inside<V, P, NV, E>(a, geo, oy, ox);
    // The rest of the row: blocks of 4 and 2, then single pixels (whose
    // two accumulator chains wait on the FMA latency).
    if constexpr (P > 4) {
      for (; ox + 4 <= hi; ox += 4) conv_direct_inside<V, 4, NV, E>(a, geo, oy, ox);
    }
    if constexpr (P > 2) {
      for (; ox + 2 <= hi; ox += 2) conv_direct_inside<V, 2, NV, E>(a, geo, oy, ox);
    }
    for (; ox < hi; ++ox) conv_direct_inside<V, 1, NV, E>(a, geo, oy, ox);
    conv_direct_copied_run<V, P, NV, E>(a, geo, oy, hi, a.out_w, win);
  }
}

// P pixels x NV vectors of filters per register block (P NV accumulators).
// The activation is linear, relu or relu6 (the op checks).
template <class V, int P, int NV>
void conv_direct_simd(const ConvDirectArgs& a) {
  with_simple_epi(a.act.kind, [&](auto e) { conv_direct_rows<V, P, NV, decltype(e)::value>(a); });
}

}  // namespace
}  // namespace tfjs_infer::kernels
