// NEON gate math of one recurrent step: the shared template of
// kernels/simd/rnn_simd.h over VecNeon. Like the other NEON kernels, checked
// on this project's x86 machines only by cross-compilation.
#include "kernels/arm/simd_neon.h"
#include "kernels/isa_kernels.h"
#include "kernels/simd/rnn_simd.h"

namespace tfjs_infer::kernels::neon {

void rnn_gates_f32(const RnnGateArgs& args) { rnn_gates<VecNeon>(args); }

}  // namespace tfjs_infer::kernels::neon
