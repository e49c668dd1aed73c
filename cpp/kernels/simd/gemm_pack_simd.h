// The packed-B layout of the SIMD GEMM (kernels/simd/gemm_simd.h describes
// it): column panels of Cfg::NR floats in groups of Cfg::kGroup panels, each
// group stored k row by k row. Its size, where a panel starts, and the
// packing. Include only from one ISA's translation units (through
// gemm_simd.h); all in an anonymous namespace.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace tfjs_infer::kernels {
namespace {

template <class V, int NR>
size_t packed_b_size(int64_t k, int64_t n) {
  const int64_t panels = (n + NR - 1) / NR;
  return static_cast<size_t>(panels * k * NR);
}

// Panels in the group of panel p (of `panels`), and where panel p starts.
template <class Cfg>
inline int64_t group_width(int64_t panels, int64_t p) {
  const int64_t first = p / Cfg::kGroup * Cfg::kGroup;
  return panels - first < Cfg::kGroup ? panels - first : Cfg::kGroup;
}

// Offset of panel p's first float: whole groups before it, then its place
// in its group.
template <class Cfg>
inline int64_t panel_offset(int64_t k, int64_t p) {
  return (p / Cfg::kGroup) * k * Cfg::kGroup * Cfg::NR + (p % Cfg::kGroup) * Cfg::NR;
}

// The narrow tail (GemmBlocking::narrow_tail): a Cfg may name a narrower
// vector type VN, kNarrowNv of them per row (a last panel of more than one
// full vector but at most kNarrowNv x VN::kW valid columns) in tiles of
// kNarrowRows rows. NarrowTail<Cfg> says whether it does; NarrowCfg<Cfg>
// reads Cfg's packed layout (same NR, same groups) with VN vectors. Every C
// element is still one lane's FMA chain in k order: the same bits.
template <class Cfg, class = void>
struct NarrowTail {
  static constexpr int kNv = 0;
  static constexpr int kCols = 0;
};
template <class Cfg>
struct NarrowTail<Cfg, std::void_t<typename Cfg::VN>> {
  static constexpr int kNv = Cfg::kNarrowNv;
  static constexpr int kCols = Cfg::kNarrowNv * Cfg::VN::kW;
};
template <class Cfg>
struct NarrowCfg {
  using V = typename Cfg::VN;
  static constexpr int NR = Cfg::NR;
  static constexpr int kGroup = Cfg::kGroup;
};

template <class Cfg>
void pack_b(const float* b, int64_t k, int64_t n, const double* col_scale, float* packed) {
  using V = typename Cfg::V;
  constexpr int NR = Cfg::NR;
  constexpr int W = V::kW;
  const int64_t panels = (n + NR - 1) / NR;
  for (int64_t p = 0; p < panels; ++p) {
    const int64_t col0 = p * NR;
    const int64_t cols = n - col0 < NR ? n - col0 : NR;
    float* dst = packed + panel_offset<Cfg>(k, p);
    const int64_t ks = group_width<Cfg>(panels, p) * NR;
    for (int64_t kk = 0; kk < k; ++kk) {
      const float* src = b + kk * n + col0;
      float* d = dst + kk * ks;
      if (col_scale) {  // a folded BatchNorm: float(w * s), as the fold computes it
        for (int64_t j = 0; j < NR; ++j)
          d[j] = j < cols ? static_cast<float>(src[j] * col_scale[col0 + j]) : 0.0f;
        continue;
      }
      for (int v = 0; v < NR; v += W) {
        const int64_t left = cols - v;
        typename V::F x = left >= W ? V::loadu(src + v) : V::load_n(src + v, left > 0 ? left : 0);
        V::storeu(d + v, x);
      }
    }
  }
}

}  // namespace
}  // namespace tfjs_infer::kernels
