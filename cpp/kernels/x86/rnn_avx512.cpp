// AVX-512 gate math of one recurrent step: the shared template of
// kernels/simd/rnn_simd.h over VecAvx512.
#include "kernels/isa_kernels.h"
#include "kernels/simd/rnn_simd.h"
#include "kernels/x86/simd_avx512.h"

namespace tfjs_infer::kernels::avx512 {

void rnn_gates_f32(const RnnGateArgs& args) { rnn_gates<VecAvx512>(args); }

// 8 vectors per column block: 8 accumulators, one sequential stream.
size_t rnn_gemv_packed_size(int64_t k, int64_t n) { return gemv_packed_size<VecAvx512, 8>(k, n); }
void rnn_gemv_pack(const float* b, int64_t k, int64_t n, float* packed) {
  gemv_pack<VecAvx512, 8>(b, k, n, packed);
}
void rnn_gemv_f32(const RnnGemvArgs& args) { gemv<VecAvx512, 8>(args); }

}  // namespace tfjs_infer::kernels::avx512
