// Reduced-precision GEMMs: the packing every ISA shares, the row quantization
// rule, and scalar reference kernels that give the SIMD kernels' bits
// (kernels/lowp.h states the arithmetic they all follow).
#include <cmath>
#include <cstring>
#include <vector>

#include "core/cpu_features.h"
#include "kernels/generic/activation_scalar.h"
#include "kernels/gemm_blocking.h"
#include "kernels/isa_kernels.h"
#include "kernels/lowp.h"

namespace tfjs_infer {

namespace {

int64_t panels_of(int64_t n) { return (n + kLowpNr - 1) / kLowpNr; }

uint32_t float_bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}

float bits_float(uint32_t u) {
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

}  // namespace

size_t lowp_bf16_packed_bytes(int64_t k, int64_t n) {
  return static_cast<size_t>(panels_of(n) * ((k + 1) / 2) * kLowpNr * 2 * 2);
}

size_t lowp_int8_packed_bytes(int64_t k, int64_t n) {
  const int64_t panels = panels_of(n);
  return static_cast<size_t>(panels * ((k + 3) / 4) * kLowpNr * 4 + panels * kLowpNr * 8);
}

bool lowp_bf16_half_panels() { return gemm_blocking().bf16_half_panel != 0; }

bool lowp_bf16_mem_broadcast() { return gemm_blocking().bf16_mem_broadcast != 0; }

bool lowp_bf16_amx() {
#ifdef TFJS_INFER_HAVE_AMXBF16
  return gemm_blocking().bf16_amx != 0 && cpu_features().amx_bf16;
#else
  return false;
#endif
}

uint16_t lowp_bf16_round(float x) {
  uint32_t u = float_bits(x);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

void lowp_bf16_pack(const float* b, int64_t k, int64_t n, void* packed) {
  uint16_t* out = static_cast<uint16_t*>(packed);
  const int64_t pairs = (k + 1) / 2;
  for (int64_t p = 0; p < panels_of(n); ++p) {
    uint16_t* panel = out + p * pairs * kLowpNr * 2;
    for (int64_t q = 0; q < pairs; ++q)
      for (int64_t j = 0; j < kLowpNr; ++j)
        for (int64_t h = 0; h < 2; ++h) {
          const int64_t row = 2 * q + h, col = p * kLowpNr + j;
          const float v = row < k && col < n ? b[row * n + col] : 0.0f;
          panel[(q * kLowpNr + j) * 2 + h] = lowp_bf16_round(v);
        }
  }
}

void lowp_int8_pack(const float* b, int64_t k, int64_t n, void* packed) {
  const int64_t panels = panels_of(n), quads = (k + 3) / 4;
  int8_t* out = static_cast<int8_t*>(packed);
  float* scales = reinterpret_cast<float*>(out + panels * quads * kLowpNr * 4);
  int32_t* sums = reinterpret_cast<int32_t*>(scales + panels * kLowpNr);
  for (int64_t col = 0; col < panels * kLowpNr; ++col) {
    const int64_t p = col / kLowpNr, j = col % kLowpNr;
    float amax = 0.0f;
    bool finite = true;
    for (int64_t row = 0; col < n && row < k; ++row) {
      const float v = b[row * n + col];
      finite = finite && std::isfinite(v);
      amax = std::fabs(v) > amax ? std::fabs(v) : amax;
    }
    // A column of zeros keeps scale 1 (its products are 0 anyway); a
    // non-finite weight makes the column NaN, as float math would.
    const float scale = !finite ? NAN : amax > 0.0f ? amax / 127.0f : 1.0f;
    const float inv = 1.0f / scale;
    int32_t sum = 0;
    for (int64_t row = 0; row < quads * 4; ++row) {
      int32_t q = 0;
      if (finite && col < n && row < k) {
        const float r = std::nearbyint(b[row * n + col] * inv);
        q = static_cast<int32_t>(r > 127.0f ? 127.0f : r < -127.0f ? -127.0f : r);
      }
      out[((p * quads + row / 4) * kLowpNr + j) * 4 + row % 4] = static_cast<int8_t>(q);
      sum += q;
    }
    scales[col] = scale;
    sums[col] = sum;
  }
}

RowQuant lowp_row_params(float lo, float hi) { return row_params_inline(lo, hi); }

namespace kernels::generic {

namespace {

// A bfloat16 as float32, denormals as zero (vdpbf16ps's DAZ).
float bf16_value(uint16_t h) {
  if ((h & 0x7f80u) == 0) h &= 0x8000u;
  return bits_float(static_cast<uint32_t>(h) << 16);
}

// A float32 result with denormals flushed to a zero of the same sign (FTZ).
float flush(float x) {
  const uint32_t u = float_bits(x);
  return (u & 0x7f800000u) == 0 ? bits_float(u & 0x80000000u) : x;
}

// (acc + bias) + residual, then the activation, as the float GEMM's epilogue.
float finish(const GemmArgs& g, int64_t i, int64_t col, float acc) {
  if (g.bias) acc += g.bias[col];
  if (g.residual) acc += g.residual[i * g.ldr + col];
  return apply_activation_scalar(g.act, acc);
}

}  // namespace

void gemm_bf16(const GemmArgs& g, const void* packed) {
  const uint16_t* b = static_cast<const uint16_t*>(packed);
  const int64_t pairs = (g.k + 1) / 2;
  std::vector<uint16_t> a(static_cast<size_t>(pairs * 2));
  for (int64_t i = 0; i < g.m; ++i) {
    for (int64_t kk = 0; kk < pairs * 2; ++kk)
      a[kk] = kk >= g.k  ? 0
              : g.a_bf16 ? g.a_bf16[i * g.lda + kk]
                         : lowp_bf16_round(g.a[i * g.lda + kk]);
    for (int64_t col = g.n_begin; col < g.n_end; ++col) {
      const uint16_t* panel = b + (col / kLowpNr) * pairs * kLowpNr * 2;
      const int64_t j = col % kLowpNr;
      float acc = 0.0f;
      for (int64_t q = 0; q < pairs; ++q) {
        const uint16_t* w = panel + (q * kLowpNr + j) * 2;
        acc = flush(acc + bf16_value(a[2 * q + 1]) * bf16_value(w[1]));
        acc = flush(acc + bf16_value(a[2 * q]) * bf16_value(w[0]));
      }
      g.c[i * g.ldc + col] = finish(g, i, col, acc);
    }
  }
}

// The float kernel one output row at a time, each row then rounded as
// gemm_bf16 rounds its A: the bits of the float path.
void depthwise_bf16(const DepthwiseArgs& a) {
  const int64_t row = a.out_w * a.c;
  std::vector<float> y(static_cast<size_t>(row));
  DepthwiseArgs r = a;
  r.y = y.data();
  r.row_begin = 0;
  r.row_end = 1;
  for (int64_t oy = a.row_begin; oy < a.row_end; ++oy) {
    r.pad_top = a.pad_top - oy * a.stride_h;  // its row 0 is row oy
    depthwise_f32(r);
    for (int64_t i = 0; i < row; ++i) a.y_bf16[oy * row + i] = lowp_bf16_round(y[i]);
  }
}

namespace {

// One float row to u8 in q (zero past k) with its own parameters.
RowQuant quantize_row(const float* x, int64_t k, std::vector<int32_t>& q) {
  float lo = 0.0f, hi = 0.0f;
  int8_range(x, k, &lo, &hi);
  const RowQuant rq = lowp_row_params(lo, hi);
  for (size_t kk = 0; kk < q.size(); ++kk)
    q[kk] = static_cast<int64_t>(kk) < k && std::isfinite(rq.scale)
                ? quantize_value(x[kk], rq.inv, rq.zp)
                : 0;
  return rq;
}

}  // namespace

void int8_range(const float* x, int64_t n, float* lo_out, float* hi_out) {
  float lo = 0.0f, hi = 0.0f;
  bool nan = false;
  for (int64_t i = 0; i < n; ++i) {
    nan = nan || std::isnan(x[i]);
    lo = x[i] < lo ? x[i] : lo;
    hi = x[i] > hi ? x[i] : hi;
  }
  *lo_out = lo;
  *hi_out = nan ? NAN : hi;
}

void int8_quantize(const float* x, int64_t n, float inv, int32_t zp, uint8_t* dst) {
  for (int64_t i = 0; i < n; ++i) dst[i] = quantize_value(x[i], inv, zp);
}

void gemm_int8(const GemmArgs& g, const void* packed) {
  const int64_t panels = panels_of(g.n), quads = (g.k + 3) / 4;
  const int8_t* b = static_cast<const int8_t*>(packed);
  const float* scales = reinterpret_cast<const float*>(b + panels * quads * kLowpNr * 4);
  const int32_t* sums = reinterpret_cast<const int32_t*>(scales + panels * kLowpNr);
  std::vector<int32_t> q(static_cast<size_t>(quads * 4));
  std::vector<uint8_t> gathered(static_cast<size_t>(quads * 4));
  for (int64_t i = 0; i < g.m; ++i) {
    RowQuant rq;
    if (g.q_rows) {  // quantized per sample by the caller
      gather_quantized_rows(g, i, 1, quads, gathered.data(), quads * 4, &rq);
      for (int64_t kk = 0; kk < quads * 4; ++kk) q[kk] = gathered[kk];
    } else {
      rq = quantize_row(g.a + i * g.lda, g.k, q);
    }
    for (int64_t col = g.n_begin; col < g.n_end; ++col) {
      const int8_t* panel = b + (col / kLowpNr) * quads * kLowpNr * 4;
      const int64_t j = col % kLowpNr;
      int32_t acc = 0;
      for (int64_t qq = 0; qq < quads; ++qq)
        for (int64_t h = 0; h < 4; ++h) acc += q[qq * 4 + h] * panel[(qq * kLowpNr + j) * 4 + h];
      const float y = static_cast<float>(acc - rq.zp * sums[col]) * (rq.scale * scales[col]);
      g.c[i * g.ldc + col] = finish(g, i, col, y);
    }
  }
}

}  // namespace kernels::generic
}  // namespace tfjs_infer
