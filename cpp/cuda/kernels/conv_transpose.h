// Transposed convolution (1D/2D/3D), as the CPU op computes it: one GEMM
// col = x (pixels, cin) . B (cin, (kk, cout)) with gemm_f32 (B[ci, kk cout +
// co] = kernel[kk, co, ci], arranged on the host), then this gather.
#pragma once

#include "cuda/kernels/launch.h"

namespace tfjs_infer::cuda {

// y[b, o, c] = act(sum over taps kk in (kd, kh, kw) order with
// o = i * stride - pad_before + kk * dilation per axis of col[b, i, kk, c],
// from +0, then + bias[c]); col is [n, in_d*in_h*in_w, k_d*k_h*k_w*cout],
// y [n, out_d, out_h, out_w, cout] (1D/2D: leading size-1 axes).
struct ConvTransposeGatherArgs {
  const float* col = nullptr;
  const float* bias = nullptr;  // [cout] or nullptr
  float* y = nullptr;
  int64_t n = 0, cout = 0;
  int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1}, k[3] = {1, 1, 1};
  int64_t stride[3] = {1, 1, 1}, dil[3] = {1, 1, 1}, pad_before[3] = {0, 0, 0};
  ActParams act;
};

cudaError_t conv_transpose_gather_f32(const ConvTransposeGatherArgs& args, cudaStream_t stream);

}  // namespace tfjs_infer::cuda
