// GEMM with the CPU engine's epilogue (bias, residual, activation), batched,
// and the implicit-GEMM convolution that shares its tiled kernel.
#pragma once

#include "cuda/kernels/launch.h"

namespace tfjs_infer::cuda {

// For every b < batch:
//   C[b] = act(alpha * (A[b] . op(B[b])) + bias + residual[b])
// A[b] is [m, k] row-major (row stride lda) at a + b * stride_a; op(B) is
// B [k, n] (ldb) or, with trans_b, B given as [n, k] (ldb). Every output is
// accumulated from +0 over k = 0..k-1 in order with separately rounded
// multiply and add (no FMA, no TF32), then scaled (when alpha != 1), then the
// bias, then the residual, then the activation: the same bits as the CPU
// engine's generic GEMM, whatever m, the tiling or the batch.
// A folded BatchNorm is applied to B on the host before upload (as
// gemm_pack_b's col_scale does).
struct GemmArgs {
  int64_t m = 0, n = 0, k = 0, batch = 1;
  const float* a = nullptr;
  int64_t lda = 0, stride_a = 0;
  const float* b = nullptr;
  int64_t ldb = 0, stride_b = 0;
  int32_t trans_b = 0;
  float* c = nullptr;
  int64_t ldc = 0, stride_c = 0;
  float alpha = 1.0f;
  const float* bias = nullptr;      // [n] or nullptr
  const float* residual = nullptr;  // [m, ldr] per batch at stride_r, or nullptr
  int64_t ldr = 0, stride_r = 0;
  ActParams act;
};

cudaError_t gemm_f32(const GemmArgs& args, cudaStream_t stream);

// Convolution as implicit GEMM over channels-last data (1D: in_h = kh = 1;
// 1D and 2D: in_d = kd = 1):
//   y[b, oz, oy, ox, g*cout_g + co] = act(sum_{kz, ky, kx, ci} x[b, iz, iy, ix, g*cin_g + ci]
//                                   * w[kz, ky, kx, ci, g*cout_g + co] + bias + residual)
// with iy = oy*stride_h - pad_top + ky*dil_h (taps in the padding read 0),
// x [n, in_d, in_h, in_w, cin], w [kd, kh, kw, cin/groups, cout] (Keras's
// layout, a folded BatchNorm already in it), y and residual [n, out_d, out_h,
// out_w, cout]. The sum runs over (kz, ky, kx, ci) in order from +0, as the
// CPU's im2col GEMM.
struct ConvArgs {
  const float* x = nullptr;
  const float* w = nullptr;
  const float* bias = nullptr;      // [cout] or nullptr
  const float* residual = nullptr;  // like y, or nullptr
  float* y = nullptr;
  int64_t n = 0, in_h = 1, in_w = 0, cin = 0;
  int64_t out_h = 1, out_w = 0, cout = 0;
  int64_t kh = 1, kw = 1, stride_h = 1, stride_w = 1, dil_h = 1, dil_w = 1;
  int64_t pad_top = 0, pad_left = 0, groups = 1;
  int64_t in_d = 1, out_d = 1, kd = 1, stride_d = 1, dil_d = 1, pad_front = 0;  // 3D only
  ActParams act;
};

cudaError_t conv2d_f32(const ConvArgs& args, cudaStream_t stream);

}  // namespace tfjs_infer::cuda
