// Portable reference GEMM over a column-panel packed B. The ground truth the
// SIMD variants are tested against; also the fallback on unknown CPUs.
#include <cstring>

#include "kernels/generic/activation_scalar.h"
#include "kernels/isa_kernels.h"

namespace tfjs_infer::kernels::generic {

const int64_t kGemmNr = 8;

size_t gemm_packed_b_size(int64_t k, int64_t n) {
  const int64_t panels = (n + kGemmNr - 1) / kGemmNr;
  return static_cast<size_t>(panels * k * kGemmNr);
}

// Layout: panel p holds columns [p*NR, p*NR+NR) as k rows of NR floats,
// zero-padded past n.
void gemm_pack_b(const float* b, int64_t k, int64_t n, const double* col_scale, float* packed) {
  const int64_t panels = (n + kGemmNr - 1) / kGemmNr;
  for (int64_t p = 0; p < panels; ++p) {
    float* dst = packed + p * k * kGemmNr;
    for (int64_t kk = 0; kk < k; ++kk) {
      for (int64_t j = 0; j < kGemmNr; ++j) {
        const int64_t col = p * kGemmNr + j;
        const float v = col < n ? b[kk * n + col] : 0.0f;
        dst[kk * kGemmNr + j] = col < n && col_scale ? static_cast<float>(v * col_scale[col]) : v;
      }
    }
  }
}

void gemm_f32(const GemmArgs& g) {
  for (int64_t i = 0; i < g.m; ++i) {
    const float* a_row = g.a_rows ? nullptr : g.a + i * g.lda;
    float* c_row = g.c + i * g.ldc;
    for (int64_t p0 = g.n_begin; p0 < g.n_end; p0 += kGemmNr) {
      const float* panel = g.packed_b + (p0 / kGemmNr) * g.k * kGemmNr;
      float acc[kGemmNr] = {};
      for (int64_t kk = 0; kk < g.k; ++kk) {
        const float av = a_row ? a_row[kk] : g.a_rows[i][g.seg_off[kk / g.seg_k] + kk % g.seg_k];
        const float* bp = panel + kk * kGemmNr;
        for (int64_t j = 0; j < kGemmNr; ++j) acc[j] += av * bp[j];
      }
      const int64_t cols = (g.n_end - p0) < kGemmNr ? (g.n_end - p0) : kGemmNr;
      for (int64_t j = 0; j < cols; ++j) {
        float v = acc[j];
        if (g.bias) v += g.bias[p0 + j];
        if (g.residual) v += g.residual[i * g.ldr + p0 + j];
        c_row[p0 + j] = apply_activation_scalar(g.act, v);
      }
    }
  }
}

}  // namespace tfjs_infer::kernels::generic
