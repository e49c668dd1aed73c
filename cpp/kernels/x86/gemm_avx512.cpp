// AVX-512 GEMM: 32-column panels (two zmm). Blocked path: R x 64 register
// tiles (two panels, 4R accumulators), 2R x 32 for single panels, 2R x 16 for
// a last panel of <= 16 columns, 8 x 24 (three ymm) for a last panel of 17-24
// columns where GemmBlocking::narrow_tail is on (Zen 4), R = gemm_tile_rows()
// (6; 7 by TFJS_INFER_GEMM_TILE_ROWS); all-rows x several-panels tiles for m <= 4.
// Algorithm and determinism contract: kernels/simd/gemm_simd.h.
#include "kernels/isa_kernels.h"
#include "kernels/simd/gemm_simd.h"
#include "kernels/x86/simd_avx2.h"
#include "kernels/x86/simd_avx512.h"

namespace tfjs_infer::kernels::avx512 {
namespace {

// G: panels per interleaved group of the packed layout (gemm_simd.h), chosen
// per CPU at import (gemm_panel_group(), kernels/cpu_params.cpp):
//   2 (Intel): a blocked-path tile's two panels are one contiguous 256-byte run
//     per k row (with 4 it read half of every 512-byte row: 49x4608x512, ResNet50
//     conv5 3x3, ran 10 % slower on an Emerald Rapids Xeon); the m = 1 and 2
//     tiles span two whole groups instead (kSmallGroups).
//     The same on AMD Zen 4 (EPYC Genoa: 49x4608x512 +12-21 %, ResNet50 batch
//     1 0.91-0.95x its time).
//   4 (elsewhere; Zen 5, where the kernels were tuned): the batch-1 GEMV reads
//     one 512-byte run per k row.
// Small-m accumulators either way: 8, 16, 12, 16 for m = 1..4.
// R: rows of the two-panel tiles (gemm_tile_rows(), kernels/cpu_params.cpp):
// 6 x 64 uses 24 of the 32 zmm registers for accumulators; 7 x 64 (by
// override) 28, with one of them on the stack.
template <int G, int R = 6>
struct Cfg {
  using V = VecAvx512;
  static constexpr int NV = 2;
  static constexpr int NR = NV * V::kW;  // 32
  static constexpr int MR = R;
  static constexpr int MR1 = 2 * R;
  static constexpr int MRH = 2 * R;
  static constexpr int kBlockNp = 2;
  static constexpr int kGroup = G;
  static constexpr int kSmallM = 4;
  // Panels per small-m tile within a group, by m, and whole groups per m = 1, 2
  // tile where the groups are narrow.
  static constexpr int kSmallNp[5] = {1, G == 2 ? 2 : 4, G == 2 ? 2 : 4, 2, 2};
  static constexpr int kSmallGroups[5] = {0, G == 2 ? 2 : 0, G == 2 ? 2 : 0, 0, 0};
  // Narrow tail (GemmBlocking::narrow_tail, on where a ymm FMA has the zmm
  // MAC rate): a last panel of 17-24 columns as 8 rows x three ymm vectors
  // (24 accumulators) instead of 12 rows x two zmm.
  using VN = VecAvx2;
  static constexpr int kNarrowNv = 3;
  static constexpr int kNarrowRows = 8;
  // Fixed-k tiles (GemmBlocking::fixed_k) compiled only for the layout and
  // tile height of the CPU the switch is on for (Zen 4: groups of 2 panels,
  // 6-row tiles). With both layouts and a relu epilogue too the library grew
  // by 0.95 MB instead of 0.63.
  static constexpr bool kFixedK = G == 2 && R == 6;
  // Cache blocking: gemm_blocking(), derived from the CPU (kernels/cpu_params.cpp).
};

}  // namespace

const int64_t kGemmNr = Cfg<2>::NR;

size_t gemm_packed_b_size(int64_t k, int64_t n) {
  return packed_b_size<Cfg<2>::V, Cfg<2>::NR>(k, n);  // the same for both groupings
}

void gemm_pack_b(const float* b, int64_t k, int64_t n, const double* col_scale, float* packed) {
  if (gemm_panel_group() == 2) {
    pack_b<Cfg<2>>(b, k, n, col_scale, packed);
  } else {
    pack_b<Cfg<4>>(b, k, n, col_scale, packed);
  }
}

void gemm_f32(const GemmArgs& args) {
  const bool seven = gemm_tile_rows() == 7;
  if (gemm_panel_group() == 2) {
    seven ? gemm<Cfg<2, 7>>(args) : gemm<Cfg<2, 6>>(args);
  } else {
    seven ? gemm<Cfg<4, 7>>(args) : gemm<Cfg<4, 6>>(args);
  }
}

}  // namespace tfjs_infer::kernels::avx512
