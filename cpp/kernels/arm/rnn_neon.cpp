// NEON gate math of one recurrent step: the shared template of
// kernels/simd/rnn_simd.h over VecNeon. Like the other NEON kernels, checked
// on this project's x86 machines only by cross-compilation.
#include "kernels/arm/simd_neon.h"
#include "kernels/isa_kernels.h"
#include "kernels/simd/rnn_simd.h"

namespace tfjs_infer::kernels::neon {

void rnn_gates_f32(const RnnGateArgs& args) { rnn_gates<VecNeon>(args); }

size_t rnn_gemv_packed_size(int64_t k, int64_t n) { return gemv_packed_size<VecNeon, 8>(k, n); }
void rnn_gemv_pack(const float* b, int64_t k, int64_t n, float* packed) {
  gemv_pack<VecNeon, 8>(b, k, n, packed);
}
void rnn_gemv_f32(const RnnGemvArgs& args) { gemv<VecNeon, 8>(args); }

}  // namespace tfjs_infer::kernels::neon
