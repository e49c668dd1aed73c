// Recurrent step gate math (SimpleRNN, LSTM, GRU). The input projection of
// all steps is one gemm_f32, the recurrent product per step another (or a
// batched one); these kernels do the rest of a step.
#pragma once

#include "cuda/kernels/launch.h"

namespace tfjs_infer::cuda {

// The CPU's RnnGateArgs (kernels/kernel_args.h has the formulas per kind),
// with device pointers: one thread per (row, unit), the CPU generic kernel's
// arithmetic (float64 activations rounded once, no FMA).
using ::tfjs_infer::RnnGateArgs;
using ::tfjs_infer::RnnGateKind;
cudaError_t rnn_gates_f32(const RnnGateArgs& args, cudaStream_t stream);

}  // namespace tfjs_infer::cuda
