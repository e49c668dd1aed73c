// AVX2 gate math of one recurrent step: the shared template of
// kernels/simd/rnn_simd.h over VecAvx2.
#include "kernels/isa_kernels.h"
#include "kernels/simd/rnn_simd.h"
#include "kernels/x86/simd_avx2.h"

namespace tfjs_infer::kernels::avx2 {

void rnn_gates_f32(const RnnGateArgs& args) { rnn_gates<VecAvx2>(args); }

}  // namespace tfjs_infer::kernels::avx2
