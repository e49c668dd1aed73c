// AVX-512 GEMM: 32-column panels (two zmm). Blocked path: 6 x 64 register
// tiles (two panels, 24 accumulators), 12 x 32 for single panels, 12 x 16 for
// a last panel of <= 16 columns; all-rows x several-panels tiles for m <= 4.
// Algorithm and determinism contract: kernels/simd/gemm_simd.h.
#include "kernels/isa_kernels.h"
#include "kernels/simd/gemm_simd.h"
#include "kernels/x86/simd_avx512.h"

namespace tfjs_infer::kernels::avx512 {
namespace {

struct Cfg {
  using V = VecAvx512;
  static constexpr int NV = 2;
  static constexpr int NR = NV * V::kW;  // 32
  static constexpr int MR = 6;
  static constexpr int MR1 = 12;
  static constexpr int MRH = 12;
  static constexpr int kBlockNp = 2;
  // Panels per interleaved group of the packed layout (gemm_simd.h): the two
  // panels of a blocked-path tile, so that its B rows are contiguous 256-byte
  // runs. Groups of 4 made those tiles read half of every 512-byte row; on an
  // Intel Xeon (Emerald Rapids) 49x4608x512 (ResNet50 conv5 3x3) ran 10 %
  // slower so (bench/gemm.py, interleaved builds, 72 % against 80-82 % of the
  // adjacent FMA probe).
  static constexpr int kGroup = 2;
  static constexpr int kSmallM = 4;
  // Panels per small-m tile within a group, by m; m = 1 and 2 take two whole
  // groups instead (kSmallGroups): 8, 16, 12, 16 accumulators.
  static constexpr int kSmallNp[5] = {1, 2, 2, 2, 2};
  static constexpr int kSmallGroups[5] = {0, 2, 2, 0, 0};
  // Cache blocking: gemm_blocking(), derived from the CPU (kernels/cpu_params.cpp).
};

}  // namespace

const int64_t kGemmNr = Cfg::NR;

size_t gemm_packed_b_size(int64_t k, int64_t n) { return packed_b_size<Cfg::V, Cfg::NR>(k, n); }

void gemm_pack_b(const float* b, int64_t k, int64_t n, const double* col_scale, float* packed) {
  pack_b<Cfg>(b, k, n, col_scale, packed);
}

void gemm_f32(const GemmArgs& args) { gemm<Cfg>(args); }

}  // namespace tfjs_infer::kernels::avx512
