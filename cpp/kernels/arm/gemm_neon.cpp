// NEON GEMM: 16-column panels (four q registers). Blocked path: 6 x 16
// register tiles (24 accumulators), 12 x 4 for a last panel of <= 4 columns;
// all-rows x several-panels tiles for m <= 4. Algorithm and determinism
// contract: kernels/simd/gemm_simd.h.
//
// Checked on this project's x86 machines only by cross-compiling and running a
// standalone comparison against the generic kernels under qemu-aarch64
// (correctness, not speed); not tuned on ARM hardware.
#include "kernels/arm/simd_neon.h"
#include "kernels/isa_kernels.h"
#include "kernels/simd/gemm_simd.h"

namespace tfjs_infer::kernels::neon {
namespace {

struct Cfg {
  using V = VecNeon;
  static constexpr int NV = 4;
  static constexpr int NR = NV * V::kW;  // 16
  static constexpr int MR = 6;
  static constexpr int MR1 = 6;
  static constexpr int MRH = 12;
  static constexpr int kBlockNp = 1;
  // Panels per interleaved group of the packed layout (gemm_simd.h).
  static constexpr int kGroup = 4;
  static constexpr int kSmallM = 4;
  // Panels per small-m tile, by m: 8, 16, 12, 16 accumulators.
  static constexpr int kSmallNp[5] = {1, 2, 2, 1, 1};
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

}  // namespace tfjs_infer::kernels::neon
