// Depthwise convolution, bias and any activation fused.
#pragma once

#include "cuda/kernels/launch.h"

namespace tfjs_infer::cuda {

// The CPU's DepthwiseArgs over a batch: x [n, in_h, in_w, c / multiplier],
// w [kh, kw, c], y [n, out_h, out_w, c]; output channel ch reads input channel
// ch / multiplier (TF's depthwise order: the CPU op widens its input so). Each output is summed
// from +0 over the taps in (ky, kx) order, skipping taps in the padding, then + bias, then the
// activation (any ActKind): the CPU generic kernel's bits.
struct DepthwiseArgs {
  const float* x = nullptr;
  const float* w = nullptr;
  const float* bias = nullptr;  // [c] or nullptr
  float* y = nullptr;
  int64_t n = 0, in_h = 1, in_w = 0, c = 0, out_h = 1, out_w = 0;
  int64_t kh = 1, kw = 1, stride_h = 1, stride_w = 1, dil_h = 1, dil_w = 1;
  int64_t pad_top = 0, pad_left = 0;
  int64_t multiplier = 1;  // the depth multiplier: c is a multiple of it
  ActParams act;
};

cudaError_t depthwise_f32(const DepthwiseArgs& args, cudaStream_t stream);

}  // namespace tfjs_infer::cuda
