// NEON GEMM entry points. For now these forward to the portable reference
// (kernels/generic), which the compiler auto-vectorizes for AArch64: correct
// and deterministic, not yet tuned. Same packed layout as generic (NR = 8).
#include "kernels/isa_kernels.h"

namespace tfjs_infer::kernels::neon {

const int64_t kGemmNr = 8;  // must equal generic::kGemmNr: the layout is generic's

size_t gemm_packed_b_size(int64_t k, int64_t n) { return generic::gemm_packed_b_size(k, n); }

void gemm_pack_b(const float* b, int64_t k, int64_t n, float* packed) {
  generic::gemm_pack_b(b, k, n, packed);
}

void gemm_f32(const GemmArgs& args) { generic::gemm_f32(args); }

}  // namespace tfjs_infer::kernels::neon
