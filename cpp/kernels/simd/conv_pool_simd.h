// A small convolution fused with the 4-cell pooling after it (ConvPoolArgs),
// over a vector traits class V: each block of P pooled pixels keeps its 4 P
// conv pixels' accumulators (NV vectors of filters each) in registers over
// the whole reduction, applies the GEMM's epilogue to them and pools them
// there; only the pooled values are stored. Per conv value the same FMAs in
// the same k order as gemm_tile (kernels/simd/gemm_simd.h), the same bias add
// and activation (epi_simple), and the same max / sum order as pool_block
// (kernels/simd/pool_simd.h): bitwise gemm_f32 + pool_f32 of the same table.
//
// Include only from one ISA's translation units; all in an anonymous namespace.
#pragma once

#include <cstdint>

#include "kernels/kernel_args.h"
#include "kernels/simd/gemm_simd.h"
#include "kernels/simd/window_fma_simd.h"

namespace tfjs_infer::kernels {
namespace {

constexpr int kConvPoolCells = 4;

// Where the pooling reads its values and writes its result: P pooled pixels
// from (py, px0), each with its 4 conv pixels' window corners in cell order.
template <int P>
struct ConvPoolBlock {
  const float* corner[P * kConvPoolCells];
  float* y[P];
};

// A pooled pixel's cells' window corners relative to its first cell's, and
// the distance between neighbouring pooled pixels' windows (in floats): once
// per call, so no block divides by the pooling width.
struct ConvPoolGeometry {
  int64_t cell[kConvPoolCells];
  int64_t next_px, row;  // row: one pooled row's windows further down
  // Tap kk's offset from its window's corner: one loop over the kh kw cin
  // taps instead of kernel rows of kw cin (3 taps in the MNIST CNN's first
  // layer), 0.81x that layer's time (AMD EPYC Zen 4, AVX-512, batch 32).
  int64_t kg;
  int32_t tap[kConvPoolMaxTaps];

  explicit ConvPoolGeometry(const ConvPoolArgs& a) {
    kg = a.kh * a.kw * a.cin;
    int64_t kk = 0;
    for (int64_t ky = 0; ky < a.kh; ++ky)
      for (int64_t t = 0; t < a.kw * a.cin; ++t)
        tap[kk++] = static_cast<int32_t>(ky * a.in_w * a.cin + t);
    for (int c = 0; c < kConvPoolCells; ++c)
      cell[c] = ((c / a.pw) * a.s_h * a.in_w + (c % a.pw) * a.s_w) * a.cin;
    next_px = a.pw * a.s_w * a.cin;
    row = a.ph * a.s_h * a.in_w * a.cin;
  }
};

template <int P>
inline ConvPoolBlock<P> conv_pool_block(const ConvPoolArgs& a, const ConvPoolGeometry& geo,
                                        int64_t py, int64_t px0) {
  ConvPoolBlock<P> blk;
  const float* first = a.x + py * geo.row + px0 * geo.next_px;
  float* y = a.y + (py * a.out_w + px0) * a.cout;
#pragma GCC unroll 16
  for (int p = 0; p < P; ++p) {
#pragma GCC unroll 16
    for (int c = 0; c < kConvPoolCells; ++c)
      blk.corner[p * kConvPoolCells + c] = first + p * geo.next_px + geo.cell[c];
    blk.y[p] = y + p * a.cout;
  }
  return blk;
}

// Filters [j0, j0 + NV W) (the last vector partial past cout) of one block.
template <class V, int P, int NV, Epi E, bool kMax>
inline void conv_pool_cols(const ConvPoolArgs& a, const ConvPoolGeometry& geo,
                           const ConvPoolBlock<P>& blk, int64_t j0) {
  using F = typename V::F;
  constexpr int W = V::kW;
  constexpr int R = P * kConvPoolCells;
  F acc[R][NV];
  window_fma<V, R, NV>(acc, blk.corner, geo.tap, geo.kg, a.w + j0, a.ldw);
  F bias[NV];
  if (a.bias) {
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) bias[v] = V::loadu(a.bias + j0 + v * W);
  }
  const F init = kMax ? V::set1(a.max_init) : V::zero();
#pragma GCC unroll 16
  for (int p = 0; p < P; ++p) {
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) {
      F pooled = init;
#pragma GCC unroll 16
      for (int c = 0; c < kConvPoolCells; ++c) {
        F x = acc[p * kConvPoolCells + c][v];
        if (a.bias) x = V::add(x, bias[v]);
        x = epi_simple<V, E>(x);
        // max(x, m): x86 returns m when x is NaN, as pool_block.
        pooled = kMax ? V::max(x, pooled) : V::add(pooled, x);
      }
      if (!kMax) pooled = V::div(pooled, V::set1(static_cast<float>(kConvPoolCells)));
      const int64_t col = j0 + v * W, left = a.cout - col;
      if (left >= W) {
        V::storeu(blk.y[p] + col, pooled);
      } else if (left > 0) {
        V::store_n(blk.y[p] + col, pooled, left);
      }
    }
  }
}

// All filters of one block: NV-vector column blocks, then single vectors.
template <class V, int P, int NV, Epi E, bool kMax>
inline void conv_pool_pixels(const ConvPoolArgs& a, const ConvPoolGeometry& geo, int64_t py,
                             int64_t px0) {
  constexpr int W = V::kW;
  const ConvPoolBlock<P> blk = conv_pool_block<P>(a, geo, py, px0);
  const int64_t vecs = (a.cout + W - 1) / W;
  int64_t v0 = 0;
  for (; v0 + NV <= vecs; v0 += NV) conv_pool_cols<V, P, NV, E, kMax>(a, geo, blk, v0 * W);
  for (; v0 < vecs; ++v0) conv_pool_cols<V, P, 1, E, kMax>(a, geo, blk, v0 * W);
}

template <class V, int P, int NV, Epi E, bool kMax>
void conv_pool_rows(const ConvPoolArgs& a) {
  const ConvPoolGeometry geo(a);
  for (int64_t py = a.row_begin; py < a.row_end; ++py) {
    int64_t px = 0;
    for (; px + P <= a.out_w; px += P) conv_pool_pixels<V, P, NV, E, kMax>(a, geo, py, px);
    for (; px < a.out_w; ++px) conv_pool_pixels<V, 1, NV, E, kMax>(a, geo, py, px);
  }
}

template <class V, int P, int NV, Epi E>
void conv_pool_mode(const ConvPoolArgs& a) {
  if (a.max)
    conv_pool_rows<V, P, NV, E, true>(a);
  else
    conv_pool_rows<V, P, NV, E, false>(a);
}

// P pooled pixels x NV vectors of filters per register block (4 P NV
// accumulators). The activation is linear, relu or relu6 (the op checks).
template <class V, int P, int NV>
void conv_pool_simd(const ConvPoolArgs& a) {
  with_simple_epi(a.act.kind, [&](auto e) { conv_pool_mode<V, P, NV, decltype(e)::value>(a); });
}

}  // namespace
}  // namespace tfjs_infer::kernels
