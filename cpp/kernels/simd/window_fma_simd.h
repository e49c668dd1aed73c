// The register-blocked reduction shared by the small direct convolutions
// (conv_direct_simd.h, conv_pool_simd.h): R windows x NV vectors of filters,
// each accumulator one FMA chain over the taps in k order, so every output
// takes the GEMM path's FMAs in the GEMM's order (the same bits).
#pragma once

#include <cstdint>

namespace tfjs_infer::kernels {
namespace {

// acc[r][v] = sum over taps kk of corner[r][tap[kk]] * w[kk ldw + v W ...],
// from zero. w points at the block's first filter column; rows ldw floats apart.
template <class V, int R, int NV>
inline __attribute__((always_inline)) void window_fma(typename V::F (&acc)[R][NV],
                                                      const float* const (&corner)[R],
                                                      const int32_t* tap, int64_t kg,
                                                      const float* w, int64_t ldw) {
  using F = typename V::F;
  constexpr int W = V::kW;
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) acc[r][v] = V::zero();
  for (int64_t kk = 0; kk < kg; ++kk, w += ldw) {
    const int64_t off = tap[kk];
    F b[NV];
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) b[v] = V::loadu(w + v * W);
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const F av = V::set1(corner[r][off]);
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) acc[r][v] = V::fmadd(av, b[v], acc[r][v]);
    }
  }
}

}  // namespace
}  // namespace tfjs_infer::kernels
