// AVX2 GEMM: 16-column panels (two ymm). Blocked path: 6 x 16 register tiles
// (12 accumulators), 12 x 8 for a last panel of <= 8 columns; all-rows x
// several-panels tiles for m <= 4. Algorithm and determinism contract:
// kernels/simd/gemm_simd.h.
#include "kernels/isa_kernels.h"
#include "kernels/simd/gemm_simd.h"
#include "kernels/x86/simd_avx2.h"

namespace tfjs_infer::kernels::avx2 {
namespace {

struct Cfg {
  using V = VecAvx2;
  static constexpr int NV = 2;
  static constexpr int NR = NV * V::kW;  // 16
  static constexpr int MR = 6;
  static constexpr int MR1 = 6;
  static constexpr int MRH = 12;
  static constexpr int kBlockNp = 1;
  // Panels per interleaved group of the packed layout (gemm_simd.h).
  static constexpr int kGroup = 4;
  static constexpr int kSmallM = 4;
  // Panels per small-m tile, by m: 8, 12, 12, 8 accumulators.
  static constexpr int kSmallNp[5] = {1, 4, 3, 2, 1};
  // Whole panel groups per small-m tile (gemm_simd.h), by m: none.
  static constexpr int kSmallGroups[5] = {0, 0, 0, 0, 0};
  // Cache blocking: gemm_blocking(), derived from the CPU (kernels/cpu_params.cpp).
};

}  // namespace

const int64_t kGemmNr = Cfg::NR;

size_t gemm_packed_b_size(int64_t k, int64_t n) { return packed_b_size<Cfg::V, Cfg::NR>(k, n); }

void gemm_pack_b(const float* b, int64_t k, int64_t n, const double* col_scale, float* packed) {
  pack_b<Cfg>(b, k, n, col_scale, packed);
}

void gemm_f32(const GemmArgs& args) { gemm<Cfg>(args); }

}  // namespace tfjs_infer::kernels::avx2
