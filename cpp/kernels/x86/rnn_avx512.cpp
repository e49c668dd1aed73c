// AVX-512 gate math of one recurrent step: the shared template of
// kernels/simd/rnn_simd.h over VecAvx512.
#include "kernels/isa_kernels.h"
#include "kernels/simd/rnn_simd.h"
#include "kernels/x86/simd_avx512.h"

namespace tfjs_infer::kernels::avx512 {

void rnn_gates_f32(const RnnGateArgs& args) { rnn_gates<VecAvx512>(args); }

}  // namespace tfjs_infer::kernels::avx512
