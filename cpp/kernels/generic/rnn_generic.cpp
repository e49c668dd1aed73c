// Portable gate math of one recurrent step (formulas in kernel_args.h,
// RnnGateArgs). Activations go through the scalar reference formulas
// (float64 per element, rounded once), the ground truth for the SIMD variants.
#include "kernels/generic/activation_scalar.h"
#include "kernels/isa_kernels.h"

namespace tfjs_infer::kernels::generic {

namespace {

inline float act(const ActParams& p, float x) { return apply_activation_scalar(p, x); }

void simple_row(const RnnGateArgs& a, float* pre, float* h) {
  for (int64_t j = 0; j < a.units; ++j) h[j] = act(a.act, pre[j]);
}

void lstm_row(const RnnGateArgs& a, const float* pre, float* h, float* c) {
  const int64_t u = a.units;
  for (int64_t j = 0; j < u; ++j) {
    const float i = act(a.ract, pre[j]);
    const float f = act(a.ract, pre[u + j]);
    const float g = act(a.act, pre[2 * u + j]);
    const float o = act(a.ract, pre[3 * u + j]);
    const float cn = f * c[j] + i * g;
    c[j] = cn;
    h[j] = o * act(a.act, cn);
  }
}

void gru_reset_after_row(const RnnGateArgs& a, const float* x, const float* pre, float* h) {
  const int64_t u = a.units;
  for (int64_t j = 0; j < u; ++j) {
    const float z = act(a.ract, x[j] + pre[j]);
    const float r = act(a.ract, x[u + j] + pre[u + j]);
    const float hh = act(a.act, x[2 * u + j] + r * pre[2 * u + j]);
    h[j] = z * h[j] + (1.0f - z) * hh;
  }
}

void gru_zr_row(const RnnGateArgs& a, float* pre, const float* h, float* rh) {
  const int64_t u = a.units;
  for (int64_t j = 0; j < u; ++j) {
    pre[j] = act(a.ract, pre[j]);
    rh[j] = act(a.ract, pre[u + j]) * h[j];
  }
}

void gru_h_row(const RnnGateArgs& a, const float* pre, const float* z, float* h) {
  for (int64_t j = 0; j < a.units; ++j) {
    const float hh = act(a.act, pre[j]);
    h[j] = z[j] * h[j] + (1.0f - z[j]) * hh;
  }
}

}  // namespace

void rnn_gates_f32(const RnnGateArgs& a) {
  for (int64_t r = 0; r < a.m; ++r) {
    float* pre = a.pre + r * a.ldp;
    float* h = a.h + r * a.ldh;
    switch (a.kind) {
      case RnnGateKind::kSimple:
        simple_row(a, pre, h);
        break;
      case RnnGateKind::kLstm:
        lstm_row(a, pre, h, a.c + r * a.ldc);
        break;
      case RnnGateKind::kGruResetAfter:
        gru_reset_after_row(a, a.x + r * a.ldx, pre, h);
        break;
      case RnnGateKind::kGruZr:
        gru_zr_row(a, pre, h, a.aux + r * a.lda);
        break;
      case RnnGateKind::kGruH:
        gru_h_row(a, pre, a.aux + r * a.lda, h);
        break;
    }
  }
}

namespace {
constexpr int64_t kGemvBlock = 8;  // columns per block, as the generic GEMM's panel
}  // namespace

size_t rnn_gemv_packed_size(int64_t k, int64_t n) {
  return static_cast<size_t>((n + kGemvBlock - 1) / kGemvBlock * k * kGemvBlock);
}

// Block b holds columns [b B, b B + B) as k rows of B floats, zero padded.
void rnn_gemv_pack(const float* b, int64_t k, int64_t n, float* packed) {
  for (int64_t c0 = 0; c0 < n; c0 += kGemvBlock)
    for (int64_t kk = 0; kk < k; ++kk)
      for (int64_t j = 0; j < kGemvBlock; ++j) *packed++ = c0 + j < n ? b[kk * n + c0 + j] : 0.0f;
}

// Same arithmetic as the generic gemm_f32 on one row: acc += a * b in k order
// (no contraction), then + bias, then + residual.
void rnn_gemv_f32(const RnnGemvArgs& g) {
  const float* blk = g.packed;
  for (int64_t c0 = 0; c0 < g.n; c0 += kGemvBlock, blk += g.k * kGemvBlock) {
    float acc[kGemvBlock] = {};
    if (g.acc_in)
      for (int64_t j = 0; j < kGemvBlock && c0 + j < g.n; ++j) acc[j] = g.acc_in[c0 + j];
    for (int64_t kk = 0; kk < g.k; ++kk) {
      const float av = g.x[kk];
      for (int64_t j = 0; j < kGemvBlock; ++j) acc[j] += av * blk[kk * kGemvBlock + j];
    }
    const int64_t cols = g.n - c0 < kGemvBlock ? g.n - c0 : kGemvBlock;
    for (int64_t j = 0; j < cols; ++j) {
      float v = acc[j];
      if (g.bias) v += g.bias[c0 + j];
      if (g.residual) v += g.residual[c0 + j];
      g.y[c0 + j] = v;
    }
  }
}

}  // namespace tfjs_infer::kernels::generic
