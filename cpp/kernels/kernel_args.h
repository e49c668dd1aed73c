// Plain-data argument structs shared by every kernel implementation.
//
// This is the only project header the ISA-specific translation units include
// (with activation_list.h, a macro): it holds no inline functions and no STL, so nothing compiled
// with -mavx2 or -mavx512f can leak into code that runs before the CPU check.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/activation_list.h"
#include "kernels/gemm_blocking.h"

namespace tfjs_infer {

// Element-wise activations, applied in place by `activation_f32` and in GEMM
// epilogues: one per entry of kernels/activation_list.h, whose formulas are in
// kernels/activation_math.h. The parameters live in ActParams; their meaning
// is per kind (activation_list.h).
enum class ActKind : int32_t {
#define TFJS_INFER_ACT_ENUM(kind, name) kind,
  TFJS_INFER_ACTIVATIONS(TFJS_INFER_ACT_ENUM)
#undef TFJS_INFER_ACT_ENUM
      kCount
};

struct ActParams {
  ActKind kind = ActKind::kLinear;
  float alpha = 0.0f;
  float beta = 0.0f;
  float gamma = 0.0f;
};

// C[0:m, n_begin:n_end] = act(A[0:m, 0:k] . B[0:k, n_begin:n_end] + bias + residual)
//
// B was packed by `gemm_pack_b` of the same KernelTable. n_begin must be a
// multiple of the table's gemm_nr (callers split columns on panel borders).
// Every output element is accumulated in one register lane over k = 0..k-1 in
// order, so a row's result does not depend on m, on the m-split or on the
// n-split: predictions are bitwise identical for any batch size and thread count.
struct GemmArgs {
  int64_t m = 0, n = 0, k = 0;
  const float* a = nullptr;
  int64_t lda = 0;
  const float* packed_b = nullptr;
  float* c = nullptr;
  int64_t ldc = 0;
  int64_t n_begin = 0, n_end = 0;
  const float* bias = nullptr;      // [n] or nullptr
  const float* residual = nullptr;  // added after bias, before act: [m, ldr] or nullptr
  int64_t ldr = 0;
  ActParams act;
  // Implicit A (the implicit-GEMM convolution, ops/conv.cpp), fp32 only: when
  // a_rows is set, A[i][kk] = a_rows[i][seg_off[kk / seg_k] + kk % seg_k]
  // (a and lda unused): row i is output pixel i, a_rows[i] its window's
  // corner in a zero-padded input, segment s one kernel row's taps (seg_k =
  // kw cin contiguous floats) at offset seg_off[s]. The values, and so the
  // FMA sequence, are the im2col matrix's: the bits are the same.
  const float* const* a_rows = nullptr;
  const int64_t* seg_off = nullptr;
  int64_t seg_k = 0;
  // int8 A already quantized, one sample's (gemm_int8 only; ops/conv_int8.cpp):
  // when q_rows is set, A[i][kk] = q_rows[i][seg_off[kk / seg_k] + kk % seg_k]
  // as u8 (segments of seg_k bytes, k a multiple of seg_k), every row with the
  // sample's scale q_scale and zero point q_zp (a, lda and a_rows unused).
  const uint8_t* const* q_rows = nullptr;
  float q_scale = 1.0f;
  int32_t q_zp = 0;
  // Whether a kernel that can read q_rows in place (AVX-512's, when segments
  // are whole words) copies them into its chunk buffer first, as the others
  // do: TFJS_INFER_INT8_GATHER=1, for A/B measurements. Same bits either way.
  bool q_gather = false;
  // bf16 A already rounded (gemm_bf16 only; ops/conv_chain.cpp): row i is
  // a_bf16 + i lda, k even (a and a_rows unused). The values the kernel would
  // have rounded itself from a float A: the same bits.
  const uint16_t* a_bf16 = nullptr;
};

// Rows [row_begin, row_begin + rows) of one image's im2col matrix for
// channel group g, written to buf with rows kg = k_d k_h k_w cin_g apart:
// row r is output pixel r (flattened (out_d, out_h, out_w)), columns
// (kd, kh, kw, ci) in the kernel's order, taps in the padding zeros. x is the
// image, channels-last (in_d, in_h, in_w, cin), cin = groups * cin_g. Pure
// copies: the matrix is the same whatever the row range.
struct Im2colArgs {
  const float* x = nullptr;
  float* buf = nullptr;
  int64_t cin = 0, cin_g = 0, g = 0;
  int64_t in[3] = {1, 1, 1};   // in_d, in_h, in_w
  int64_t out[3] = {1, 1, 1};  // out_d, out_h, out_w
  int64_t k[3] = {1, 1, 1};    // kernel extent per axis
  int64_t s[3] = {1, 1, 1};    // stride
  int64_t d[3] = {1, 1, 1};    // dilation
  int64_t pad[3] = {0, 0, 0};  // cells of padding before each axis
  int64_t row_begin = 0, rows = 0;
};

// Windowed max/average pooling over channels-last data viewed as
// (N, D, H, W, C) (1D and 2D pooling use size-1 leading axes). Computes the
// output rows [row_begin, row_end) of the flattened (N, out_d, out_h) axis.
// Window cells are visited in (d, h, w) order and each output element is
// reduced in one lane: the result does not depend on how rows are split.
// Padded cells are skipped; average divides by the number of real cells.
// Max skips NaN cells (`v > m ? v : m`, as TF.js's and TF's max pooling) and
// starts from max_init: -inf (TF.js) or the lowest finite float (TF's
// MaxPool), what a window of only NaN / -inf gives.
struct PoolArgs {
  int32_t max = 1;  // 1: max, 0: average
  float max_init = -__builtin_inff();
  const float* x = nullptr;
  float* y = nullptr;
  int64_t c = 0;
  int64_t in_d = 1, in_h = 1, in_w = 1;
  int64_t out_d = 1, out_h = 1, out_w = 1;
  int64_t k_d = 1, k_h = 1, k_w = 1;
  int64_t s_d = 1, s_h = 1, s_w = 1;
  int64_t pad_d = 0, pad_h = 0, pad_w = 0;  // cells of padding before each axis
  int64_t row_begin = 0, row_end = 0;
  // 1: padded cells hold zeros that take part (a ZeroPadding folded into a
  // 'valid' pooling): every window has k_d k_h k_w cells, visited in the same
  // (d, h, w) order, a padded one reading +0, and average divides by them all
  // - bitwise the pooling of the zero-padded input.
  int32_t zero_pad = 0;
};

// Cell (kd, kh, kw) of output pixel (od, oh, ow)'s window in one image
// (`image`: its (D, H, W, C) values): the cell's C values, or nullptr where
// the cell lies in the padding (a zero_pad pooling reads +0 there).
inline const float* pool_window_cell(const PoolArgs& a, const float* image, int64_t od, int64_t oh,
                                     int64_t ow, int64_t kd, int64_t kh, int64_t kw) {
  const int64_t d = od * a.s_d - a.pad_d + kd, h = oh * a.s_h - a.pad_h + kh,
                w = ow * a.s_w - a.pad_w + kw;
  const bool inside = d >= 0 && d < a.in_d && h >= 0 && h < a.in_h && w >= 0 && w < a.in_w;
  return inside ? image + ((d * a.in_h + h) * a.in_w + w) * a.c : nullptr;
}

// One image's convolution fused with the non-overlapping pooling after it
// (ops/conv_pool.cpp), pooled output rows [row_begin, row_end), every conv
// value made in registers and pooled there:
//
//   conv(cy, cx)[j] = act(sum_kk x[window(cy, cx)][kk] * w[kk][j] + bias[j])
//   y[py, px][j]    = pool over (cy, cx) in (py ph + dy, px pw + dx), dy then dx
//
// Windows lie inside the image (no padding, no dilation): window(cy, cx)
// starts at (cy s_h, cx s_w) and kk runs over (ky, kx, ci) in the kernel's
// order. Each conv value starts at +0 and takes fma(x, w, acc) for kk = 0, 1,
// ... in order, then + bias (when there is one), then the activation (linear,
// relu or relu6, as the GEMM's epilogue); max pooling takes max(v, m) from
// max_init in cell order, average pooling sums from +0 in cell order and
// divides by ph pw (as pool_f32): the bits of gemm_f32 + pool_f32. ph pw must
// be 4 (2x2, 4x1, 1x4). w is kh kw cin rows of ldw floats (ldw >= cout, a
// multiple of 16, zero past cout), kh kw cin at most kConvPoolMaxTaps and
// kh in_w cin below 2^31; bias nullptr or ldw floats.
constexpr int64_t kConvPoolMaxTaps = 4096;
struct ConvPoolArgs {
  const float* x = nullptr;  // the image (in_h, in_w, cin)
  int64_t in_w = 0, cin = 0;
  int64_t kh = 1, kw = 1, s_h = 1, s_w = 1;
  const float* w = nullptr;
  int64_t ldw = 0, cout = 0;
  const float* bias = nullptr;
  ActParams act;
  int32_t max = 1;  // 1: max, 0: average
  float max_init = -__builtin_inff();
  int64_t ph = 2, pw = 2;
  float* y = nullptr;  // the image's pooled output (out_h, out_w, cout)
  int64_t out_w = 0;
  int64_t row_begin = 0, row_end = 0;
};

// One image's small convolution computed directly (ops/conv_direct.cpp),
// output rows [row_begin, row_end), each pixel's values made in registers:
//
//   y[oy, ox][j] = act(sum_kk x[window(oy, ox)][kk] * w[kk][j] + bias[j])
//
// window(oy, ox) starts at (oy s_h - pad_t, ox s_w - pad_l) (no dilation) and
// kk runs over (ky, kx, ci) in the kernel's order; taps in the padding read
// +0. Each value starts at +0 and takes fma(x, w, acc) for kk = 0, 1, ... in
// order (padding taps included, as the GEMM does on a zero-padded im2col
// row), then + bias (when there is one), then the activation (linear, relu or
// relu6, as the GEMM's epilogue): the bits of gemm_f32 on the im2col rows. w
// is kh kw cin rows of ldw floats (ldw >= cout, a multiple of 16, zero past
// cout), kh kw cin at most kConvDirectMaxTaps and kh in_w cin below 2^31;
// bias nullptr or ldw floats. The bf16 kernel (conv_direct_bf16) reads
// w_bf16 instead of w: the bf16 GEMM's packed panels of the kh kw cin x cout
// weights (kernels/lowp.h), and gives the bits of gemm_bf16 on the im2col
// rows (bias nullptr or cout floats).
constexpr int64_t kConvDirectMaxTaps = 1024;
struct ConvDirectArgs {
  const float* x = nullptr;  // the image (in_h, in_w, cin)
  int64_t in_h = 0, in_w = 0, cin = 0;
  int64_t kh = 1, kw = 1, s_h = 1, s_w = 1, pad_t = 0, pad_l = 0;
  const float* w = nullptr;
  const uint8_t* w_bf16 = nullptr;
  int64_t ldw = 0, cout = 0;
  const float* bias = nullptr;
  ActParams act;
  float* y = nullptr;  // the image's output (out_h, out_w, cout)
  int64_t out_w = 0;
  int64_t row_begin = 0, row_end = 0;
};

// One image's depthwise convolution over output rows [row_begin, row_end):
//
//   y[oy, ox, c] = act(sum_{ky, kx} x[oy sh - pad_top + ky dh, ox sw - pad_left + kx dw, c]
//                        * w[ky, kx, c]  + bias[c])
//
// x is [in_h, in_w, c], w is [kh, kw, c] and y is [out_h, out_w, c], all
// channels-last and contiguous. Taps that fall in the padding are skipped
// (they would add zeros). Each output is accumulated from +0 over the taps in
// (ky, kx) order, then the bias is added, then the activation: the same order
// whatever the row range, so splitting rows over threads changes no bits.
// act.kind must be kLinear, kRelu or kRelu6 (callers apply other activations
// to the finished rows).
struct DepthwiseArgs {
  const float* x = nullptr;
  const float* w = nullptr;
  const float* bias = nullptr;  // [c] or nullptr
  float* y = nullptr;
  int64_t in_h = 0, in_w = 0, c = 0;
  int64_t out_h = 0, out_w = 0;
  int64_t kh = 1, kw = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t dil_h = 1, dil_w = 1;
  int64_t pad_top = 0, pad_left = 0;
  int64_t row_begin = 0, row_end = 0;
  ActParams act;
  // The table's depthwise_bf16 only (y unused): every result, computed in
  // float32 as above, rounded to bfloat16 (round to nearest even, the bf16
  // GEMM's rounding of its A) and stored at y_bf16[pixel * c + channel]; c
  // even, so the rows are a bf16 GEMM's A as it would convert them
  // (GemmArgs::a_bf16).
  uint16_t* y_bf16 = nullptr;
};

// One recurrent step's gate math for `m` rows (rows at the given leading
// dimensions), after the recurrent matrix product. Per kind:
//   kSimple:        h = act(pre)                                  pre: [u]
//   kLstm:          i, f, g, o = ract(pre[0:u]), ract(pre[u:2u]), act(pre[2u:3u]),
//                   ract(pre[3u:4u]); c = f * c + i * g; h = o * act(c)      pre: [4u]
//   kGruResetAfter: z = ract(x[0:u] + pre[0:u]); r = ract(x[u:2u] + pre[u:2u]);
//                   hh = act(x[2u:3u] + r * pre[2u:3u]); h = z * h + (1 - z) * hh
//                   (x: input projection with the input bias; pre: h U + recurrent bias)
//   kGruZr:         z = ract(pre[0:u]) written back to pre[0:u]; aux = ract(pre[u:2u]) * h
//   kGruH:          hh = act(pre[0:u]); h = z * h + (1 - z) * hh, z read from aux
// Every element is computed the same way whatever m is, so a row's result
// does not depend on the batch size or on how rows are split across threads.
enum class RnnGateKind : int32_t { kSimple = 0, kLstm, kGruResetAfter, kGruZr, kGruH };

struct RnnGateArgs {
  RnnGateKind kind = RnnGateKind::kLstm;
  int64_t m = 0, units = 0;
  ActParams act, ract;
  const float* x = nullptr;
  int64_t ldx = 0;
  float* pre = nullptr;
  int64_t ldp = 0;
  float* h = nullptr;
  int64_t ldh = 0;
  float* c = nullptr;
  int64_t ldc = 0;
  float* aux = nullptr;
  int64_t lda = 0;
};

// One row's recurrent product for batch-1 latency: y[0:n] = (x[0:k] . B +
// bias) + residual, B packed by rnn_gemv_pack into column blocks that are one
// contiguous stream each (k rows of the block's columns), so the per-step read
// of the whole recurrent kernel is sequential. Every y element starts at +0
// and takes fma(x[kk], b[kk][j], acc) for kk = 0..k-1 in order, then the bias,
// then the residual: the same bits as gemm_f32 of the same ISA gives the row.
// With acc_in, y element j starts at acc_in[j] instead: a product over rows
// [0, k0) of a taller B (gemm_f32's output without bias or residual) that
// this call continues over the rest, the same bits as the one product.
struct RnnGemvArgs {
  int64_t k = 0, n = 0;
  const float* x = nullptr;
  const float* packed = nullptr;
  const float* acc_in = nullptr;    // [n] or nullptr
  const float* bias = nullptr;      // [n] or nullptr
  const float* residual = nullptr;  // [n] or nullptr
  float* y = nullptr;
};

}  // namespace tfjs_infer
