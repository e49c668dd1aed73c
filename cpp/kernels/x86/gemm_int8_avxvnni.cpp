// int8 GEMM with AVX-VNNI (the VEX-encoded 256-bit vpdpbusd of AVX2-only
// CPUs: Alder Lake and later cores, Zen 5 in its AVX2 mode): the arithmetic of
// kernels/lowp.h step for step as the AVX512-VNNI kernel, on ymm registers, so
// the two give the same bits. Each A row is quantized per call to u8 with its
// own scale and zero point; B's 16-column panels are two ymm per k quad; the
// int32 sums are exact; the epilogue dequantizes, adds bias then residual and
// applies the activation in the same order.
#include "kernels/x86/simd_avx2.h"
// (blank line: keeps clang-format from reordering the includes)
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/lowp.h"
#include "kernels/simd/activation_simd.h"

namespace tfjs_infer::kernels::avxvnni {
namespace {

// Lanes [lo, hi) of 8 as an all-ones int mask (for maskload / maskstore).
__m256i lanes(int64_t lo, int64_t hi) {
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i above_lo = _mm256_cmpgt_epi32(idx, _mm256_set1_epi32(static_cast<int>(lo) - 1));
  const __m256i below_hi = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(hi)), idx);
  return _mm256_and_si256(above_lo, below_hi);
}

// 32 floats already scaled (v * inv) to 32 u8: rint, + zp, clamp to [0, 255].
void quantize32(const __m256 v[4], __m256i zp, uint8_t* dst) {
  __m256i q[4];
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) q[j] = _mm256_add_epi32(_mm256_cvtps_epi32(v[j]), zp);
  // The packs' saturation is the clamp (the sums lie within +-600: packusdw
  // takes negatives to 0, packuswb the rest above 255 to 255). packus per
  // 128-bit lane interleaves the four vectors; the permute puts the dwords
  // (4 bytes each) back in order.
  const __m256i w =
      _mm256_packus_epi16(_mm256_packus_epi32(q[0], q[1]), _mm256_packus_epi32(q[2], q[3]));
  const __m256i ordered = _mm256_permutevar8x32_epi32(w, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), ordered);
}

// A row's range: *lo = min(0, min x), *hi = max(0, max x), NaN when the row
// holds a NaN.
void range(const float* x, int64_t k, float* lo_out, float* hi_out) {
  __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps();
  __m256 nan = _mm256_setzero_ps();
  for (int64_t i = 0; i < k; i += 8) {
    const __m256 v =
        k - i >= 8 ? _mm256_loadu_ps(x + i) : _mm256_maskload_ps(x + i, lanes(0, k - i));
    lo = _mm256_min_ps(v, lo);  // a NaN v keeps the second operand
    hi = _mm256_max_ps(v, hi);
    nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
  }
  alignas(32) float l[8], h[8];
  _mm256_store_ps(l, lo);
  _mm256_store_ps(h, hi);
  float lo_s = l[0], hi_s = h[0];
  for (int j = 1; j < 8; ++j) {
    lo_s = l[j] < lo_s ? l[j] : lo_s;
    hi_s = h[j] > hi_s ? h[j] : hi_s;
  }
  *lo_out = lo_s;
  *hi_out = _mm256_movemask_ps(nan) ? NAN : hi_s;
}

// Lanes that are NaN or +-inf.
__m256 not_finite(__m256 x) {
  const __m256 magnitude = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
  return _mm256_cmp_ps(magnitude, _mm256_set1_ps(INFINITY), _CMP_NLT_UQ);
}

// row_params_inline (kernels/lowp.h) for 8 rows at once, the same IEEE steps
// (min/max against +0 as its comparisons, exact divisions, rint), as the
// AVX-512 kernel's 16-row version: the scalar rule's latency chain per row
// cost as much as a short row.
void params8(const float* lo_in, const float* hi_in, int64_t count, RowQuant* rq) {
  const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
  const __m256 lo_raw = _mm256_loadu_ps(lo_in), hi_raw = _mm256_loadu_ps(hi_in);
  const __m256 bad = _mm256_or_ps(_mm256_or_ps(not_finite(lo_raw), not_finite(hi_raw)),
                                  not_finite(_mm256_sub_ps(hi_raw, lo_raw)));
  const __m256 lo = _mm256_min_ps(lo_raw, zero);  // equal zeros give the second: +0
  const __m256 hi = _mm256_max_ps(hi_raw, zero);
  const __m256 scale = _mm256_div_ps(_mm256_sub_ps(hi, lo), _mm256_set1_ps(255.0f));
  const __m256 inv = _mm256_div_ps(one, scale);
  // Flat: hi == lo, or a range too small for 1 / s to be finite.
  const __m256 flat = _mm256_or_ps(_mm256_cmp_ps(hi, lo, _CMP_EQ_OQ), not_finite(inv));
  const __m256 plain = _mm256_or_ps(bad, flat);  // scale 1 (NaN if bad), inv 1, zp 0
  const __m256 neg_lo = _mm256_xor_ps(lo, _mm256_set1_ps(-0.0f));
  __m256 zp =
      _mm256_round_ps(_mm256_mul_ps(neg_lo, inv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  zp = _mm256_min_ps(zp, _mm256_set1_ps(255.0f));
  alignas(32) float s[8], v[8];
  alignas(32) int32_t z[8];
  _mm256_store_ps(s,
                  _mm256_blendv_ps(_mm256_blendv_ps(scale, one, flat), _mm256_set1_ps(NAN), bad));
  _mm256_store_ps(v, _mm256_blendv_ps(inv, one, plain));
  _mm256_store_si256(reinterpret_cast<__m256i*>(z),
                     _mm256_andnot_si256(_mm256_castps_si256(plain),
                                         _mm256_cvttps_epi32(_mm256_blendv_ps(zp, zero, plain))));
  for (int64_t r = 0; r < count && r < 8; ++r) rq[r] = RowQuant{s[r], v[r], z[r]};
}

// One A row (k floats) with its parameters to `words` u8 quads. Pad bytes
// past k are zero (they meet B's zero padding).
void quantize(const float* x, int64_t k, int64_t words, uint8_t* dst, const RowQuant* rq) {
  const int64_t n = words * 4;
  if (!std::isfinite(rq->scale)) {
    std::memset(dst, 0, static_cast<size_t>(n));
    return;
  }
  const __m256 inv = _mm256_set1_ps(rq->inv);
  const __m256i zp = _mm256_set1_epi32(rq->zp);
  int64_t i = 0;
  for (; i + 32 <= k; i += 32) {
    __m256 v[4];
    for (int j = 0; j < 4; ++j) v[j] = _mm256_mul_ps(_mm256_loadu_ps(x + i + 8 * j), inv);
    quantize32(v, zp, dst + i);
  }
  if (i < n) {  // the last k % 32 values through a zero-padded copy, then the pad
    alignas(32) float tail[32] = {};
    alignas(32) uint8_t q[32];
    if (k > i) std::memcpy(tail, x + i, static_cast<size_t>(k - i) * sizeof(float));
    __m256 v[4];
    for (int j = 0; j < 4; ++j) v[j] = _mm256_mul_ps(_mm256_load_ps(tail + 8 * j), inv);
    quantize32(v, zp, q);
    const int64_t real = k > i ? k - i : 0;
    std::memcpy(dst + i, q, static_cast<size_t>(real));
    std::memset(dst + i + real, 0, static_cast<size_t>(n - i - real));
  }
}

struct Tile {
  const uint8_t* a;  // row 0 of the tile's quantized A
  int64_t a_stride;  // bytes from one quantized row to the next
  const RowQuant* rq;
  int64_t words;           // k quads per row
  const uint8_t* b;        // the tile's packed panel
  const float* col_scale;  // scale_w of the panel's 16 columns
  const int32_t* col_sum;  // colsum_w of the panel's 16 columns
  int64_t c0;              // the panel's first column
  int64_t col_lo, col_hi;  // valid columns (absolute)
  const GemmArgs* g;
  int64_t row0;  // absolute row of the tile's row 0
};

enum class Epi { kLinear, kRelu, kRelu6, kGeneral };

// float(acc - zp colsum) * (s_a scale_w): the AVX-512 kernel's steps.
__m256 dequant(__m256i acc, const RowQuant& rq, const float* col_scale, const int32_t* col_sum) {
  const __m256i sums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(col_sum));
  const __m256i v = _mm256_sub_epi32(acc, _mm256_mullo_epi32(_mm256_set1_epi32(rq.zp), sums));
  const __m256 s = _mm256_mul_ps(_mm256_set1_ps(rq.scale), _mm256_loadu_ps(col_scale));
  return _mm256_mul_ps(_mm256_cvtepi32_ps(v), s);
}

// acc + the dot products of a's u8 quads with b's s8 quads (VEX vpdpbusd).
// In asm: GCC 12 gives the intrinsic's result its own register and copies
// each accumulator every k step; "+x" updates it in place (VEX: ymm0-15).
inline __m256i dpbusd(__m256i acc, __m256i a, __m256i b) {
#if defined(__GNUC__)
  asm("%{vex%} vpdpbusd %2, %1, %0" : "+x"(acc) : "x"(a), "x"(b));
  return acc;
#else
  return _mm256_dpbusd_avx_epi32(acc, a, b);
#endif
}

// MR rows x one 16-column panel (2 ymm accumulators per row).
template <int MR, Epi E>
#if defined(__GNUC__)
__attribute__((noinline))
#endif
void tile(const Tile& t) {
  __m256i acc[MR][2];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_si256();
  const uint8_t* a = t.a;
  const uint8_t* b = t.b;
  for (int64_t w = 0; w < t.words; ++w) {
    const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + w * 64));
    const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + w * 64 + 32));
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      int32_t word;
      std::memcpy(&word, a + i * t.a_stride + w * 4, 4);
      const __m256i av = _mm256_set1_epi32(word);
      acc[i][0] = dpbusd(acc[i][0], av, b0);
      acc[i][1] = dpbusd(acc[i][1], av, b1);
    }
  }
  // Locals: C's stores may alias the arguments as far as the compiler knows.
  const GemmArgs& g = *t.g;
  float* const c = g.c;
  const float* const residual = g.residual;
  const int64_t ldc = g.ldc, ldr = g.ldr;
  __m256i mask[2];
  __m256 bias[2];
  bool full[2];
#pragma GCC unroll 2
  for (int h = 0; h < 2; ++h) {
    const int64_t lo = t.col_lo - (t.c0 + 8 * h), hi = t.col_hi - (t.c0 + 8 * h);
    full[h] = lo <= 0 && hi >= 8;
    mask[h] = lanes(lo, hi);
    bias[h] = g.bias ? _mm256_maskload_ps(g.bias + t.c0 + 8 * h, mask[h]) : _mm256_setzero_ps();
  }
  alignas(32) float row[E == Epi::kGeneral ? 16 : 1];
  // Unrolled as the main loop: compile-time indices keep acc[][] in registers.
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) {
    const int64_t r = t.row0 + i;
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
      const int64_t col = t.c0 + 8 * h;
      __m256 y = dequant(acc[i][h], t.rq[i], t.col_scale + 8 * h, t.col_sum + 8 * h);
      if (g.bias) y = _mm256_add_ps(y, bias[h]);
      if (residual) y = _mm256_add_ps(y, _mm256_maskload_ps(residual + r * ldr + col, mask[h]));
      if constexpr (E == Epi::kGeneral) {
        _mm256_store_ps(row + 8 * h, y);
        continue;
      }
      // Operand order of max/min keeps NaN, as the other kernels' epilogues.
      if constexpr (E == Epi::kRelu || E == Epi::kRelu6) y = _mm256_max_ps(_mm256_setzero_ps(), y);
      if constexpr (E == Epi::kRelu6) y = _mm256_min_ps(_mm256_set1_ps(6.0f), y);
      if (full[h]) {
        _mm256_storeu_ps(c + r * ldc + col, y);
      } else {
        _mm256_maskstore_ps(c + r * ldc + col, mask[h], y);
      }
    }
    if constexpr (E == Epi::kGeneral)
      act_apply<VecAvx2>(g.act, row + (t.col_lo - t.c0), c + r * ldc + t.col_lo,
                         t.col_hi - t.col_lo);
  }
}

using TileFn = void (*)(const Tile&);
constexpr int kMr = 6;  // 12 accumulators + 2 B vectors + the broadcast: 15 of 16 ymm

template <Epi E, int R = 1>
TileFn pick_rows(int mr) {
  if constexpr (R > kMr) {
    return nullptr;
  } else {
    if (mr == R) return &tile<R, E>;
    return pick_rows<E, R + 1>(mr);
  }
}

TileFn tile_fn(int mr, ActKind kind) {
  switch (kind) {
    case ActKind::kLinear:
      return pick_rows<Epi::kLinear>(mr);
    case ActKind::kRelu:
      return pick_rows<Epi::kRelu>(mr);
    case ActKind::kRelu6:
      return pick_rows<Epi::kRelu6>(mr);
    default:
      return pick_rows<Epi::kGeneral>(mr);
  }
}

}  // namespace

void gemm_int8(const GemmArgs& g, const void* packed) {
  if (g.m <= 0 || g.n_end <= g.n_begin) return;
  const int64_t words = (g.k + 3) / 4, a_stride = words * 4;
  // Rows per chunk: the quantized chunk stays in L2 while the panels pass
  // over it; a multiple of the tile height.
  int64_t chunk = (256 * 1024) / a_stride;
  chunk = chunk < kMr ? kMr : chunk > 240 ? 240 : chunk / kMr * kMr;
  if (chunk > g.m) chunk = g.m;
  thread_local std::vector<uint8_t> a_buf;
  thread_local std::vector<RowQuant> rq_buf;
  if (a_buf.size() < static_cast<size_t>(chunk * a_stride))
    a_buf.resize(static_cast<size_t>(chunk * a_stride));
  if (rq_buf.size() < static_cast<size_t>(chunk)) rq_buf.resize(static_cast<size_t>(chunk));

  const int64_t panel_bytes = words * 64, panels = (g.n + 15) / 16;
  const uint8_t* body = static_cast<const uint8_t*>(packed);
  const float* scales = reinterpret_cast<const float*>(body + panels * panel_bytes);
  const int32_t* sums = reinterpret_cast<const int32_t*>(scales + panels * 16);
  Tile t;
  t.a_stride = a_stride;
  t.words = words;
  t.g = &g;
  for (int64_t r0 = 0; r0 < g.m; r0 += chunk) {
    const int64_t rows = g.m - r0 < chunk ? g.m - r0 : chunk;
    // Quantized per sample by the caller: gather the bytes. Otherwise every
    // row's range, the parameters 8 rows at a time, then each row.
    if (g.q_rows) gather_quantized_rows(g, r0, rows, words, a_buf.data(), a_stride, rq_buf.data());
    for (int64_t b0 = 0; b0 < rows && !g.q_rows; b0 += 8) {
      const int64_t count = rows - b0 < 8 ? rows - b0 : 8;
      alignas(32) float lo[8] = {}, hi[8] = {};
      for (int64_t i = b0; i < b0 + count; ++i) {
        // The row 4 on, while this one is scanned (as the AVX-512 kernel).
        if (i + 4 < rows)
          for (int64_t j = 0; j < g.k; j += 16)
            _mm_prefetch(reinterpret_cast<const char*>(g.a + (r0 + i + 4) * g.lda + j),
                         _MM_HINT_T0);
        range(g.a + (r0 + i) * g.lda, g.k, &lo[i - b0], &hi[i - b0]);
      }
      params8(lo, hi, count, &rq_buf[b0]);
      for (int64_t i = b0; i < b0 + count; ++i)
        quantize(g.a + (r0 + i) * g.lda, g.k, words, a_buf.data() + i * a_stride, &rq_buf[i]);
    }
    for (int64_t p = g.n_begin / 16; p < (g.n_end + 15) / 16; ++p) {
      t.b = body + p * panel_bytes;
      t.c0 = p * 16;
      t.col_scale = scales + p * 16;
      t.col_sum = sums + p * 16;
      t.col_lo = t.c0 > g.n_begin ? t.c0 : g.n_begin;
      t.col_hi = t.c0 + 16 < g.n_end ? t.c0 + 16 : g.n_end;
      for (int64_t i0 = 0; i0 < rows; i0 += kMr) {
        const int mr = rows - i0 < kMr ? static_cast<int>(rows - i0) : kMr;
        t.a = a_buf.data() + i0 * a_stride;
        t.rq = rq_buf.data() + i0;
        t.row0 = r0 + i0;
        tile_fn(mr, g.act.kind)(t);
      }
    }
  }
}

void int8_range(const float* x, int64_t n, float* lo, float* hi) { range(x, n, lo, hi); }

void int8_quantize(const float* x, int64_t n, float inv, int32_t zp, uint8_t* dst) {
  // Whole 32-value blocks in the kernel's loop, the last n % 32 one by one
  // (the same rounding and clamp; no byte written past n).
  const int64_t vec = n / 32 * 32;
  RowQuant q;
  q.scale = 1.0f;
  q.inv = inv;
  q.zp = zp;
  if (vec > 0) quantize(x, vec, vec / 4, dst, &q);
  for (int64_t i = vec; i < n; ++i) dst[i] = quantize_value(x[i], inv, zp);
}

}  // namespace tfjs_infer::kernels::avxvnni
