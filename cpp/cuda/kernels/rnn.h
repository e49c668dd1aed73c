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

// What a mask makes of step t, after the gate kernel ran on every row: one
// thread per row r of m. A row the mask drops (mask[r * steps + t] == 0)
// gets its states back (h, c from h_saved, c_saved). When y is set (the step
// emits an output), row r's output y + r * ldy is h, or zeros when dropped
// and mask_output is "zero", or "previous" before any kept step; seen[r]
// records whether a kept step has been seen. The CPU op's rules
// (ops/recurrent.cpp), so the bits agree.
enum class RnnMaskOutput : int32_t { kState = 0, kPrevious = 1, kZero = 2 };

struct RnnMaskStepArgs {
  const float* mask = nullptr;  // [m, steps]; nullptr keeps every row
  int64_t m = 0, units = 0, steps = 1, t = 0;
  float* h = nullptr;
  const float* h_saved = nullptr;
  float* c = nullptr;  // LSTM only, else nullptr
  const float* c_saved = nullptr;
  float* seen = nullptr;  // [m]
  float* y = nullptr;     // or nullptr: no output at this step
  int64_t ldy = 0;
  RnnMaskOutput mask_output = RnnMaskOutput::kState;
};

cudaError_t rnn_mask_step_f32(const RnnMaskStepArgs& args, cudaStream_t stream);

}  // namespace tfjs_infer::cuda
