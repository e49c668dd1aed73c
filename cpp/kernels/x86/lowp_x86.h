// The blocked driver of the reduced-precision GEMMs (kernels/lowp.h), shared
// by the AVX-512 bf16 and int8 kernels through a traits class T:
//
//   T::Acc                      accumulator vector (16 lanes)
//   T::kPerWord                 k elements per 32-bit A word (bf16 2, int8 4)
//   T::prepare_rows(a, lda, rows, k, words, dst, dst_stride, rq)
//                               A rows to words (rq: int8 row params)
//   T::zero(), T::step(acc, a_word_broadcast, b_vector)
//   T::step_mem(acc, a_word_address, b_vector)   optional (bf16): step with
//                               the word read as an embedded broadcast
//   T::Col, T::col(col_scale, col_sum)   a panel's 16 column factors (int8)
//   T::Row, T::row(rq)                    a row's factors (int8)
//   T::to_float(acc, row, col) -> __m512 before the bias (bf16: acc itself)
//
// Rows are converted in chunks into a thread-local buffer, then the chunk is
// swept by MR x NP register tiles (NP panels of 16 columns, MR rows) over the
// panels covering [n_begin, n_end), over k in blocks when k is long (a
// block of the panels stays in L1 while the chunk's tiles pass; bench figures
// at kKBlockWords). Each output lane runs over k in order from zero whatever
// the tile, chunk, block, m or column range, so every row's bits are the same
// at any batch size and thread split.
//
// Include only from one ISA's translation units; all in an anonymous namespace.
#pragma once

// simd_avx512.h first: it silences GCC 12's false warnings about the intrinsics.
#include "kernels/x86/simd_avx512.h"
// (blank line: keeps clang-format from reordering the includes)
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "kernels/lowp.h"
#include "kernels/simd/activation_simd.h"

namespace tfjs_infer::kernels {
namespace {

struct LowpTile {
  const uint8_t* a;  // row 0 of the tile's converted A
  int64_t a_stride;  // bytes from one converted row to the next
  const RowQuant* rq;
  int64_t words;           // 32-bit A words per row (k groups)
  const uint8_t* b;        // first packed panel of the tile
  int64_t panel_bytes;     // from one panel to the next
  const float* col_scale;  // int8: scale_w from the tile's first column
  const int32_t* col_sum;  // int8: colsum_w from the tile's first column
  int64_t panel0;          // index of the tile's first panel
  int64_t col_lo, col_hi;  // valid columns (absolute)
  const GemmArgs* g;
  int64_t row0;  // absolute row of the tile's row 0
  // k blocking: the tile sweeps words [w0, w1); its accumulators start at
  // zero when w0 == 0, else from acc_buf (where the block before left
  // them), and go to acc_buf, not to C, unless w1 == words. The sums of
  // each lane still run over k in order (storing an accumulator and loading
  // it back is exact), so the bits are those of one sweep.
  int64_t w0, w1;
  uint8_t* acc_buf;  // MR x NP accumulators of 64 bytes
  // int8 A read in place (lowp_gemm's direct case): when q_rows is set, row
  // i's word w lies in kernel row segment s = w / seg_words, at
  // q_rows[i] + seg_off[s] + 4 (w - s seg_words); a and a_stride unused.
  const uint8_t* const* q_rows;
  const int64_t* seg_off;
  int64_t seg_words;
  // The next row tile's C rows (and residual rows, pf_res nullptr: none)
  // over this tile's columns, pf_rows of them (0: no prefetch), asked for
  // before this tile's k loop so that the next epilogue finds them in cache
  // (lowp_gemm's res_prefetch).
  const float* pf_res;
  float* pf_c;
  int64_t pf_rows;
};

// LowpTile's prefetch of the next tile's epilogue lines: C for writing, the
// residual for reading; lines of 16 floats from column lo to hi.
inline void prefetch_next_epilogue(const LowpTile& t, int64_t lo, int64_t hi) {
  const int64_t ldc = t.g->ldc, ldr = t.g->ldr;
  for (int64_t i = 0; i < t.pf_rows; ++i)
    for (int64_t j = lo; j < hi; j += 16) {
      if (t.pf_res) __builtin_prefetch(t.pf_res + i * ldr + j, 0, 3);
      __builtin_prefetch(t.pf_c + i * ldc + j, 1, 3);
    }
}

inline __mmask16 lane_mask(int64_t lo, int64_t hi) {
  // Lanes [lo, hi) of 16 (lo < hi, both clipped to [0, 16]).
  lo = lo < 0 ? 0 : lo;
  hi = hi > 16 ? 16 : hi;
  if (hi <= lo) return 0;
  return static_cast<__mmask16>(((1u << hi) - 1u) & ~((1u << lo) - 1u));
}

// Whether T has a 256-bit half panel (T::step_half, T::half_panels(): bf16).
template <class T, class = void>
struct HasHalfPanel : std::false_type {};
template <class T>
struct HasHalfPanel<T, std::void_t<decltype(&T::half_panels)>> : std::true_type {};

template <class T>
bool use_half_panels() {
  if constexpr (HasHalfPanel<T>::value) {
    return T::half_panels();
  } else {
    return false;
  }
}

// Whether T's step reads its A word from memory (T::step_mem: bf16).
template <class T, class = void>
struct HasStepMem : std::false_type {};
template <class T>
struct HasStepMem<T, std::void_t<decltype(&T::step_mem)>> : std::true_type {};

// Epilogue kinds: linear, ReLU and ReLU6 finish in registers; the others go
// through a row buffer and the vectorized activation.
enum class LowpEpi { kLinear, kRelu, kRelu6, kGeneral };

// One output row over NP panels from column c0: y[p] (T::to_float's, before
// the bias) + bias, + residual (valid lanes only), the activation, stored to
// the valid lanes. res_row and c_row point at column c0 (res_row nullptr: no
// residual); row_buf (kGeneral) holds NP * 16 floats; columns [lo, lo + cols)
// of the panels are valid. Operand order of max/min keeps NaN, as the float
// GEMM's epilogue. Shared by lowp_tile and the AMX-INT8 GEMM
// (gemm_int8_amxint8.cpp): one epilogue, the same bits.
template <int NP, LowpEpi E>
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
inline void lowp_finish_row(__m512 (&y)[NP], const __m512 (&bias)[NP], const __mmask16 (&masks)[NP],
                            bool has_bias, const float* res_row, float* c_row, float* row_buf,
                            const ActParams& act, int64_t lo, int64_t cols) {
#pragma GCC unroll 4
  for (int p = 0; p < NP; ++p) {
    __m512 v = y[p];
    if (has_bias) v = _mm512_add_ps(v, bias[p]);
    if (res_row) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(masks[p], res_row + p * 16));
    if constexpr (E == LowpEpi::kGeneral) {
      _mm512_store_ps(row_buf + p * 16, v);
      continue;
    }
    if constexpr (E == LowpEpi::kRelu || E == LowpEpi::kRelu6)
      v = _mm512_max_ps(_mm512_setzero_ps(), v);
    if constexpr (E == LowpEpi::kRelu6) v = _mm512_min_ps(_mm512_set1_ps(6.0f), v);
    _mm512_mask_storeu_ps(c_row + p * 16, masks[p], v);
  }
  if constexpr (E == LowpEpi::kGeneral) act_apply<VecAvx512>(act, row_buf + lo, c_row + lo, cols);
}

// H (bf16 only, T::kHalfPanel): the last of the NP panels holds at most 8
// valid columns and runs on 256-bit vectors (its lower half; the upper half
// is the packing's zero columns). See lowp_gemm.
template <class T, int MR, int NP, LowpEpi E, bool H = false>
#if defined(__GNUC__)
__attribute__((noinline))
#endif
void lowp_tile(const LowpTile& t) {
  using Acc = typename T::Acc;
  constexpr int NF = H ? NP - 1 : NP;  // panels on full vectors
  Acc acc[MR][NP];
  __m256 acch[MR];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 4
    for (int p = 0; p < NF; ++p) {
      if (t.w0 == 0)
        acc[i][p] = T::zero();
      else
        std::memcpy(&acc[i][p], t.acc_buf + (i * NP + p) * 64, 64);
    }
    if constexpr (H) {
      if (t.w0 == 0)
        acch[i] = _mm256_setzero_ps();
      else
        std::memcpy(&acch[i], t.acc_buf + (i * NP + NF) * 64, 32);
    }
  }
  if (t.pf_rows > 0) prefetch_next_epilogue(t, t.col_lo, t.col_hi);
  const uint8_t* b = t.b;
  const int64_t ps = t.panel_bytes;
  // The words [w, end) of every row: row i's at rows[i] + 4 w.
  const auto sweep = [&](const uint8_t* const* rows, int64_t w, int64_t end) {
    for (; w < end; ++w) {
      __m512i bv[NP];
      __m256i bh = _mm256_setzero_si256();
#pragma GCC unroll 4
      for (int p = 0; p < NF; ++p) bv[p] = _mm512_loadu_si512(b + p * ps + w * 64);
      if constexpr (H)
        bh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + NF * ps + w * 64));
#pragma GCC unroll 16
      for (int i = 0; i < MR; ++i) {
        if constexpr (HasStepMem<T>::value) {
          const void* word = rows[i] + w * 4;
#pragma GCC unroll 4
          for (int p = 0; p < NF; ++p) acc[i][p] = T::step_mem(acc[i][p], word, bv[p]);
          if constexpr (H) acch[i] = T::step_half_mem(acch[i], word, bh);
        } else {
          int32_t word;
          std::memcpy(&word, rows[i] + w * 4, 4);
          const __m512i av = _mm512_set1_epi32(word);
#pragma GCC unroll 4
          for (int p = 0; p < NF; ++p) acc[i][p] = T::step(acc[i][p], av, bv[p]);
          if constexpr (H) acch[i] = T::step_half(acch[i], _mm512_castsi512_si256(av), bh);
        }
      }
    }
  };
  const uint8_t* rows[MR];
  if (t.q_rows) {  // in place: one kernel row segment at a time
    for (int64_t w = t.w0; w < t.w1;) {
      const int64_t s = w / t.seg_words;
      const int64_t end = (s + 1) * t.seg_words < t.w1 ? (s + 1) * t.seg_words : t.w1;
#pragma GCC unroll 16
      for (int i = 0; i < MR; ++i) rows[i] = t.q_rows[i] + t.seg_off[s] - s * t.seg_words * 4;
      sweep(rows, w, end);
      w = end;
    }
  } else {
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) rows[i] = t.a + i * t.a_stride;
    sweep(rows, t.w0, t.w1);
  }
  if (t.w1 < t.words) {  // not the last k block: keep the sums for the next
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 4
      for (int p = 0; p < NF; ++p) std::memcpy(t.acc_buf + (i * NP + p) * 64, &acc[i][p], 64);
      if constexpr (H) std::memcpy(t.acc_buf + (i * NP + NF) * 64, &acch[i], 32);
    }
    return;
  }
  // Epilogue: to float, + bias, + residual (valid lanes only), activation.
  // Operand order of max/min keeps NaN, as the float GEMM's epilogue. The
  // arguments are copied to locals and the per-column and per-row factors
  // loaded once: C's stores may alias them as far as the compiler knows,
  // which made it reload each one for every vector (a third of a short-k
  // tile's instructions).
  const GemmArgs& g = *t.g;
  float* const c = g.c;
  const float* const residual = g.residual;
  const int64_t ldc = g.ldc, ldr = g.ldr, row0 = t.row0;
  const bool has_bias = g.bias != nullptr;
  alignas(64) float row[E == LowpEpi::kGeneral ? NP * 16 : 1];
  const int64_t c0 = t.panel0 * 16;
  __mmask16 masks[NP];
  __m512 bias[NP];
  typename T::Col cols[NP];
#pragma GCC unroll 4
  for (int p = 0; p < NP; ++p) {
    masks[p] = lane_mask(t.col_lo - (c0 + p * 16), t.col_hi - (c0 + p * 16));
    bias[p] = g.bias ? _mm512_maskz_loadu_ps(masks[p], g.bias + c0 + p * 16) : _mm512_setzero_ps();
    cols[p] = T::col(t.col_scale + p * 16, t.col_sum + p * 16);
  }
  // Fully unrolled, as the main loop: a row index known at compile time
  // keeps acc[][] in registers (a run-time index made GCC keep it in memory
  // and store every accumulator on every k step).
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    const int64_t r = row0 + i;
    const typename T::Row rowq = T::row(t.rq[i]);
    __m512 y[NP];
#pragma GCC unroll 4
    for (int p = 0; p < NP; ++p)
      y[p] = H && p == NF ? _mm512_zextps256_ps512(acch[i]) : T::to_float(acc[i][p], rowq, cols[p]);
    lowp_finish_row<NP, E>(y, bias, masks, has_bias, residual ? residual + r * ldr + c0 : nullptr,
                           c + r * ldc + c0, row, g.act, t.col_lo - c0, t.col_hi - t.col_lo);
  }
}

using LowpTileFn = void (*)(const LowpTile&);

// Whether T has tiles compiled for a fixed k (T::fixed_k(): bf16 with the
// memory broadcast, where GemmBlocking::fixed_k says).
template <class T, class = void>
struct HasFixedK : std::false_type {};
template <class T>
struct HasFixedK<T, std::void_t<decltype(&T::fixed_k)>> : std::true_type {};

// `tiles` full MR-row tiles, one below the other, over NP full panels, with
// KW words per row (bf16 k = 16, 24, 32) in one k block, the rows KW words
// apart (the chunk buffer or a bf16 A stored so), no epilogue prefetch. The
// k loop is unrolled with every A word at a constant offset from one
// pointer, and the pointers and masks are set once for all the tiles:
// lowp_tile keeps a pointer per row and sets its masks per tile, which took 12 % of
// the k = 16 expand tile's samples before its k loop and 35 % in its
// epilogue (perf, Zen 4). Each lane runs the same steps in the same order
// as in lowp_tile (from zero over k, + bias, + residual, activation): the
// same bits.
template <class T, int MR, int NP, LowpEpi E, int KW>
#if defined(__GNUC__)
__attribute__((noinline))
#endif
void lowp_tiles_fixed_k(const LowpTile& t, int64_t tiles) {
  using Acc = typename T::Acc;
  const GemmArgs& g = *t.g;
  const int64_t ldc = g.ldc, ldr = g.ldr, c0 = t.panel0 * 16;
  float* c = g.c + t.row0 * ldc + c0;
  const float* res = g.residual ? g.residual + t.row0 * ldr + c0 : nullptr;
  // The bias read in the epilogue, not held in registers over the tiles: 4
  // more registers beside the 24 sums and 4 B vectors of a 6 x 4 tile spilled
  // the sums (k = 24 and 32 ran 1.3x the any-k tile's time).
  const float* const bias = g.bias ? g.bias + c0 : nullptr;
  typename T::Col cols[NP];
#pragma GCC unroll 4
  for (int p = 0; p < NP; ++p) cols[p] = T::col(t.col_scale + p * 16, t.col_sum + p * 16);
  const uint8_t* a = t.a;
  const uint8_t* const b = t.b;
  const int64_t ps = t.panel_bytes;
  for (int64_t tile = 0; tile < tiles; ++tile) {
    Acc acc[MR][NP];
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
      for (int p = 0; p < NP; ++p) acc[i][p] = T::zero();
#pragma GCC unroll 16
    for (int w = 0; w < KW; ++w) {
      __m512i bv[NP];
#pragma GCC unroll 4
      for (int p = 0; p < NP; ++p) bv[p] = _mm512_loadu_si512(b + p * ps + w * 64);
#pragma GCC unroll 16
      for (int i = 0; i < MR; ++i) {
        const uint8_t* word = a + (i * KW + w) * 4;
#pragma GCC unroll 4
        for (int p = 0; p < NP; ++p) acc[i][p] = T::step_mem(acc[i][p], word, bv[p]);
      }
    }
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const typename T::Row rowq = T::row(t.rq[tile * MR + i]);
#pragma GCC unroll 4
      for (int p = 0; p < NP; ++p) {
        __m512 y = T::to_float(acc[i][p], rowq, cols[p]);
        if (bias) y = _mm512_add_ps(y, _mm512_loadu_ps(bias + p * 16));
        if (res) y = _mm512_add_ps(y, _mm512_loadu_ps(res + i * ldr + p * 16));
        if constexpr (E == LowpEpi::kRelu6)
          y = _mm512_min_ps(_mm512_set1_ps(6.0f), _mm512_max_ps(_mm512_setzero_ps(), y));
        _mm512_storeu_ps(c + i * ldc + p * 16, y);
      }
    }
    a += MR * KW * 4;
    c += MR * ldc;
    if (res) res += MR * ldr;
  }
}

using LowpFixedFn = void (*)(const LowpTile&, int64_t);

template <class T, int NP, int KW>
LowpFixedFn pick_fixed_k_epi(ActKind kind) {
  constexpr int MR = NP == 4 ? 6 : 12;  // lowp_rows_for
  if (kind == ActKind::kLinear) return &lowp_tiles_fixed_k<T, MR, NP, LowpEpi::kLinear, KW>;
  if (kind == ActKind::kRelu6) return &lowp_tiles_fixed_k<T, MR, NP, LowpEpi::kRelu6, KW>;
  return nullptr;
}

template <class T, int NP>
LowpFixedFn pick_fixed_k_words(int64_t words, ActKind kind) {
  if (words == 8) return pick_fixed_k_epi<T, NP, 8>(kind);
  if (words == 12) return pick_fixed_k_epi<T, NP, 12>(kind);
  if (words == 16) return pick_fixed_k_epi<T, NP, 16>(kind);
  return nullptr;
}

// The fixed-k tiles for np panels of `words` words, or nullptr: only 4, 2
// and 1 panels (MobileNetV2's expands of 96, 144 and 192 columns and
// projections to 16) and the linear and relu6 epilogues (its projections
// and expands), to bound the code: these 18 unrolled tiles add about
// 100 KB to the library (the AVX512-BF16 object file: 1.79 -> 1.89 MB).
template <class T>
LowpFixedFn lowp_fixed_k_fn(int np, int64_t words, ActKind kind) {
  if constexpr (!HasFixedK<T>::value) {
    return nullptr;
  } else {
    if (!T::fixed_k()) return nullptr;
    if (np == 4) return pick_fixed_k_words<T, 4>(words, kind);
    if (np == 2) return pick_fixed_k_words<T, 2>(words, kind);
    if (np == 1) return pick_fixed_k_words<T, 1>(words, kind);
    return nullptr;
  }
}

template <class T, int MR, int NP, bool H>
LowpTileFn pick_lowp_epi(ActKind kind) {
  switch (kind) {
    case ActKind::kLinear:
      return &lowp_tile<T, MR, NP, LowpEpi::kLinear, H>;
    case ActKind::kRelu:
      return &lowp_tile<T, MR, NP, LowpEpi::kRelu, H>;
    case ActKind::kRelu6:
      return &lowp_tile<T, MR, NP, LowpEpi::kRelu6, H>;
    default:
      return &lowp_tile<T, MR, NP, LowpEpi::kGeneral, H>;
  }
}

template <class T, int NP, int RMAX, int R = 1>
LowpTileFn pick_lowp_tile(int mr, ActKind kind, bool half) {
  if constexpr (R > RMAX) {
    return nullptr;
  } else {
    if (mr == R) {
      if constexpr (HasHalfPanel<T>::value) {
        if (half) return pick_lowp_epi<T, R, NP, true>(kind);
      }
      return pick_lowp_epi<T, R, NP, false>(kind);
    }
    return pick_lowp_tile<T, NP, RMAX, R + 1>(mr, kind, half);
  }
}

// k words per block (kernels/lowp.h's words: 4 int8 or 2 bf16 values): 4
// panels' block is 32 KiB, within a 48 KiB L1D beside the A rows. Without
// blocks a tile of a long-k product streamed its panels from L2: int8
// kernel alone, u8 rows, 1 thread, interleaved, medians of 60 (Xeon family 6
// model 207, load ~2.5): 784x1152x128 0.92x the unblocked time, 196x2304x256
// 0.91x, 49x4608x512 0.90x, 196x1024x256 0.91x, 49x2048x512 0.90x; k <= 576
// takes one block (unchanged).
constexpr int64_t kKBlockWords = 128;

// Tallest tile for NP panels (about 24 accumulators).
constexpr int lowp_rows_for(int np) { return np == 4 ? 6 : np == 3 ? 8 : 12; }

template <class T>
LowpTileFn lowp_tile_fn(int np, int mr, ActKind kind, bool half) {
  switch (np) {
    case 4:
      return pick_lowp_tile<T, 4, lowp_rows_for(4)>(mr, kind, half);
    case 3:
      return pick_lowp_tile<T, 3, lowp_rows_for(3)>(mr, kind, half);
    case 2:
      return pick_lowp_tile<T, 2, lowp_rows_for(2)>(mr, kind, half);
    default:
      return pick_lowp_tile<T, 1, lowp_rows_for(1)>(mr, kind, half);
  }
}

// gather_quantized_rows (kernels/lowp.h) with 64-byte vector copies: a
// library memcpy call per kernel row's segment cost about a tenth of a 3x3
// layer's GEMM. Same bytes.
inline void gather_rows(const GemmArgs& g, int64_t r0, int64_t rows, int64_t words, uint8_t* dst,
                        int64_t dst_stride, RowQuant* rq) {
  const int64_t segs = g.k / g.seg_k, seg_k = g.seg_k, full = seg_k / 64 * 64;
  const int64_t rest = seg_k - full;
  const __mmask64 tail = rest ? ~0ull >> (64 - rest) : 0;
  const int64_t pad = words * 4 - g.k;
  RowQuant q;
  q.scale = g.q_scale;
  q.zp = g.q_zp;
  for (int64_t i = 0; i < rows; ++i) {
    const uint8_t* src = g.q_rows[r0 + i];
    uint8_t* out = dst + i * dst_stride;
    for (int64_t s = 0; s < segs; ++s, out += seg_k) {
      const uint8_t* from = src + g.seg_off[s];
      for (int64_t j = 0; j < full; j += 64)
        _mm512_storeu_si512(out + j, _mm512_loadu_si512(from + j));
      if (tail)
        _mm512_mask_storeu_epi8(out + full, tail, _mm512_maskz_loadu_epi8(tail, from + full));
    }
    if (pad) std::memset(out, 0, static_cast<size_t>(pad));
    rq[i] = q;
  }
}

// res_prefetch (GemmBlocking::res_prefetch's values): 1, the tiles of a
// call with a fused residual prefetch the next row tile's residual and C
// lines before their k loop (their last k block's); 2, C lines without a
// residual too; 0, none. k_block_words: k blocks of about that many words,
// 0 for none (GemmBlocking::int8_k_block_words; bf16 keeps kKBlockWords).
template <class T>
void lowp_gemm(const GemmArgs& g, const void* packed, int64_t res_prefetch = 0,
               int64_t k_block_words = kKBlockWords) {
  if (g.m <= 0 || g.n_end <= g.n_begin) return;
  const int64_t words = (g.k + T::kPerWord - 1) / T::kPerWord;
  const int64_t a_stride = words * 4;
  // Rows per chunk: the converted chunk stays in L2 (~384 KiB) while the
  // panel groups pass over it; a multiple of every tile height.
  int64_t chunk = (384 * 1024) / (a_stride > 0 ? a_stride : 1);
  chunk = chunk < 24 ? 24 : chunk > 240 ? 240 : chunk / 24 * 24;
  if (chunk > g.m) chunk = g.m;
  thread_local std::vector<uint8_t> a_buf;
  thread_local std::vector<RowQuant> rq_buf;
  if (a_buf.size() < static_cast<size_t>(chunk * a_stride + 64))
    a_buf.resize(static_cast<size_t>(chunk * a_stride + 64));
  if (rq_buf.size() < static_cast<size_t>(chunk)) rq_buf.resize(static_cast<size_t>(chunk));
  // k blocks of about kKBlockWords, all alike (a short last block cost more
  // than it saved: its tiles store and reload every sum for a few steps).
  const int64_t blocks = k_block_words <= 0 || words < k_block_words * 3 / 2
                             ? 1
                             : (words + k_block_words / 2) / k_block_words;
  const int64_t block = (words + blocks - 1) / blocks;
  // One tile's accumulators (at most 24 of 64 bytes) per row tile of a chunk
  // (tiles at least 6 rows tall but the last).
  thread_local std::vector<uint8_t> acc_buf;
  const size_t acc_bytes = static_cast<size_t>((chunk / 6 + 1) * 24 * 64);
  if (blocks > 1 && acc_buf.size() < acc_bytes) acc_buf.resize(acc_bytes);

  const int64_t panel_bytes = words * 64;
  const int64_t p_first = g.n_begin / 16, p_end = (g.n_end + 15) / 16;
  LowpTile t;
  t.words = words;
  t.panel_bytes = panel_bytes;
  t.g = &g;
  // int8: per-column scales and sums follow the panels (kernels/lowp.h).
  const int64_t panels = (g.n + 15) / 16;
  const float* scales =
      reinterpret_cast<const float*>(static_cast<const uint8_t*>(packed) + panels * panel_bytes);
  const int32_t* sums = reinterpret_cast<const int32_t*>(scales + panels * 16);
  // Segments of whole words (k too), unless asked to gather.
  const bool direct = g.q_rows && !g.q_gather && g.seg_k % 4 == 0;
  t.seg_off = g.seg_off;
  t.seg_words = g.seg_k / 4;
  const bool pf_epi = res_prefetch >= 2 || (res_prefetch == 1 && g.residual);
  for (int64_t r0 = 0; r0 < g.m; r0 += chunk) {
    const int64_t rows = g.m - r0 < chunk ? g.m - r0 : chunk;
    // int8 quantized per sample by the caller (q_rows): the tiles read the
    // rows in place when every kernel row segment is whole words, else the
    // bytes are gathered into the chunk buffer first. The gather took 6-12 %
    // of ResNet50's 3x3 layers in the model; in place, kernel alone, 2 images,
    // interleaved, medians of 21 (load 3-4): 3136x576x64 per image 0.86-0.93x
    // the gathered time, 784x1152x128 0.90-0.97x, 196x2304x256 0.92-0.98x,
    // 49x4608x512 0.95-1.01x. Same bytes, same sums.
    t.q_rows = nullptr;
    // bf16 A rounded already (GemmArgs::a_bf16): the tiles read it in place.
    const uint8_t* chunk_a = a_buf.data();
    t.a_stride = a_stride;
    if (g.a_bf16) {
      chunk_a = reinterpret_cast<const uint8_t*>(g.a_bf16 + r0 * g.lda);
      t.a_stride = g.lda * 2;
    } else if (direct) {
      for (int64_t i = 0; i < rows; ++i) rq_buf[i] = RowQuant{g.q_scale, 1.0f, g.q_zp};
    } else if (g.q_rows) {
      gather_rows(g, r0, rows, words, a_buf.data(), a_stride, rq_buf.data());
    } else
      T::prepare_rows(g.a + r0 * g.lda, g.lda, rows, g.k, words, a_buf.data(), a_stride,
                      rq_buf.data());
    for (int64_t p = p_first; p < p_end;) {
      const int np = p_end - p >= 4 ? 4 : static_cast<int>(p_end - p);
      const int rmax = lowp_rows_for(np);
      t.b = static_cast<const uint8_t*>(packed) + p * panel_bytes;
      t.panel0 = p;
      t.col_scale = scales + p * 16;
      t.col_sum = sums + p * 16;
      t.col_lo = p * 16 > g.n_begin ? p * 16 : g.n_begin;
      t.col_hi = (p + np) * 16 < g.n_end ? (p + np) * 16 : g.n_end;
      const bool half = use_half_panels<T>() && t.col_hi - (p + np - 1) * 16 <= 8;
      // k blocks of about kKBlockWords: the panels' block stays in L1 while the
      // chunk's row tiles pass over it (else every tile streams the whole
      // panels from L2); each tile's sums wait in acc_buf between blocks.
      // Full row tiles over full panels with a thin k in one block: the
      // tiles compiled for their k (lowp_tiles_fixed_k), all in one call.
      int64_t i_first = 0;
      const bool full_cols = t.col_lo == p * 16 && t.col_hi == (p + np) * 16;
      const LowpFixedFn fixed = blocks == 1 && !half && !pf_epi && !direct && full_cols &&
                                        t.a_stride == words * 4 && rows >= rmax
                                    ? lowp_fixed_k_fn<T>(np, words, g.act.kind)
                                    : nullptr;
      if (fixed) {
        t.w0 = 0;
        t.w1 = words;
        t.a = chunk_a;
        t.rq = rq_buf.data();
        t.row0 = r0;
        i_first = rows / rmax * rmax;
        fixed(t, rows / rmax);
      }
      for (int64_t w0 = 0; w0 < words; w0 += block) {
        t.w0 = w0;
        t.w1 = words - w0 <= block ? words : w0 + block;
        for (int64_t i0 = i_first; i0 < rows; i0 += rmax) {
          const int mr = rows - i0 < rmax ? static_cast<int>(rows - i0) : rmax;
          t.a = chunk_a + i0 * t.a_stride;
          t.rq = rq_buf.data() + i0;
          t.row0 = r0 + i0;
          t.q_rows = direct ? g.q_rows + r0 + i0 : nullptr;
          t.acc_buf = blocks > 1 ? acc_buf.data() + (i0 / rmax) * (24 * 64) : nullptr;
          // The next row tile of the chunk, in the last k block only.
          const int64_t after = rows - i0 - mr;
          t.pf_rows = pf_epi && t.w1 == words ? (after < rmax ? after : rmax) : 0;
          t.pf_c = t.pf_rows ? g.c + (t.row0 + mr) * g.ldc : nullptr;
          t.pf_res = t.pf_rows && g.residual ? g.residual + (t.row0 + mr) * g.ldr : nullptr;
          lowp_tile_fn<T>(np, mr, g.act.kind, half)(t);
        }
      }
      p += np;
    }
  }
}

}  // namespace
}  // namespace tfjs_infer::kernels
