// int8 GEMM on AMX tiles (AMX-INT8 tdpbusd): the contract of the AVX512-VNNI
// GEMM (kernels/lowp.h) and its bits. A rows are quantized per row to u8 (or
// gathered from GemmArgs::q_rows) by the VNNI kernel's own code
// (x86/int8_avx512vnni.h) into a chunk buffer; B is the packed int8 panels
// unchanged: a panel's 64-byte quad rows (b[4q..4q+3][j], j = 0..15) are the
// rows of an AMX B tile. tdpbusd adds u8 x s8 products into exact int32 sums,
// as vpdpbusd does, so the sums are the VNNI kernel's whatever the order;
// the epilogue (int32 -> float with zp colsum and the scales, bias,
// residual, activation) is the VNNI kernel's (lowp_x86.h lowp_finish_row).
//
// Blocks of 32 rows x 32 columns: four 16 x 16 int32 accumulator tiles
// (tmm0-3) fed by two A tiles (tmm4-5: 16 rows x 64 bytes) and two B tiles
// (tmm6-7: 16 quad rows x 16 columns) per 64-value step of k, the largest
// block eight tiles hold (4 tile loads per 4 tdpbusd). The tiles are stored
// to a 4 KiB buffer and the epilogue runs on AVX-512 from there.
#include <immintrin.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/x86/amx_tiles.h"
#include "kernels/x86/int8_avx512vnni.h"

namespace tfjs_infer::kernels::amxint8 {
namespace {

using Int8 = Int8Vnni;

// Words (4 k values) per tdpbusd: a 64-byte A tile row, 16 B quad rows.
constexpr int64_t kStepWords = 16;

// The tile configuration of one call, released when the call ends: the
// tiles' 8 KiB of state then stays out of the context switches' XSAVE and
// the next user configures its own shapes. `rows`: rows of the A and C
// tiles (the call's m when below 16); `kw`: words per step (k's when below
// 16), the A tiles' 4 kw bytes per row and the B tiles' kw rows.
class TileScope {
 public:
  TileScope(int rows, int kw) {
    TileConfig cfg;
    for (int t = 0; t < 4; ++t) {  // C: rows x 16 int32
      cfg.rows[t] = static_cast<uint8_t>(rows);
      cfg.colsb[t] = 64;
    }
    for (int t = 4; t < 6; ++t) {  // A: rows x 4 kw u8
      cfg.rows[t] = static_cast<uint8_t>(rows);
      cfg.colsb[t] = static_cast<uint16_t>(4 * kw);
    }
    for (int t = 6; t < 8; ++t) {  // B: kw quad rows x 16 columns of 4 s8
      cfg.rows[t] = static_cast<uint8_t>(kw);
      cfg.colsb[t] = 64;
    }
    load_tile_config(cfg);
  }
  ~TileScope() { _tile_release(); }
  TileScope(const TileScope&) = delete;
  TileScope& operator=(const TileScope&) = delete;
};

// One block of RB x 16 rows by PB panels over `steps` steps of kw words:
// A rows a_stride bytes apart (the second 16 at a + 16 a_stride), panels
// panel_bytes apart; the last step's B from b_last (PB staged 1 KiB quad-row
// blocks, see amx_gemm) when it is not nullptr. The int32 sums go to out,
// 32 rows of 32 (128 bytes apart): tile (i, p) at row 16 i, column 16 p.
template <int RB, int PB>
#if defined(__GNUC__)
__attribute__((noinline))
#endif
void amx_block(const uint8_t* a, int64_t a_stride, const uint8_t* b, int64_t panel_bytes,
               int64_t steps, int64_t kw, const uint8_t* b_last, int32_t* out) {
  _tile_zero(0);
  if constexpr (PB == 2) _tile_zero(1);
  if constexpr (RB == 2) _tile_zero(2);
  if constexpr (RB == 2 && PB == 2) _tile_zero(3);
  const uint8_t* a1 = a + 16 * a_stride;
  const int64_t a_step = 4 * kw, b_step = 64 * kw;
  const int64_t full = b_last ? steps - 1 : steps;
  const auto step = [&](const uint8_t* av, const uint8_t* av1, const uint8_t* b0,
                        const uint8_t* b1) {
    _tile_loadd(4, av, a_stride);
    _tile_loadd(6, b0, 64);
    if constexpr (PB == 2) _tile_loadd(7, b1, 64);
    _tile_dpbusd(0, 4, 6);
    if constexpr (PB == 2) _tile_dpbusd(1, 4, 7);
    if constexpr (RB == 2) {
      _tile_loadd(5, av1, a_stride);
      _tile_dpbusd(2, 5, 6);
      if constexpr (PB == 2) _tile_dpbusd(3, 5, 7);
    }
  };
  for (int64_t s = 0; s < full; ++s)
    step(a + s * a_step, a1 + s * a_step, b + s * b_step, b + panel_bytes + s * b_step);
  if (b_last) step(a + full * a_step, a1 + full * a_step, b_last, b_last + kStepWords * 64);
  _tile_stored(0, out, 128);
  if constexpr (PB == 2) _tile_stored(1, out + 16, 128);
  if constexpr (RB == 2) _tile_stored(2, out + 16 * 32, 128);
  if constexpr (RB == 2 && PB == 2) _tile_stored(3, out + 16 * 32 + 16, 128);
}

using AmxBlockFn = void (*)(const uint8_t*, int64_t, const uint8_t*, int64_t, int64_t, int64_t,
                            const uint8_t*, int32_t*);

AmxBlockFn amx_block_fn(int rb, int pb) {
  if (rb == 2) return pb == 2 ? &amx_block<2, 2> : &amx_block<2, 1>;
  return pb == 2 ? &amx_block<1, 2> : &amx_block<1, 1>;
}

// The epilogue of `rows` rows of a block's sums over NP panels from panel
// p: T's dequant (Int8Vnni::to_float) and lowp_finish_row, as lowp_tile.
template <int NP, LowpEpi E>
void amx_epilogue(const GemmArgs& g, const int32_t* sums, int64_t rows, int64_t row0,
                  const RowQuant* rq, int64_t p, const float* scales, const int32_t* colsum) {
  const int64_t c0 = p * 16;
  const int64_t lo = c0 > g.n_begin ? c0 : g.n_begin;
  const int64_t hi = c0 + NP * 16 < g.n_end ? c0 + NP * 16 : g.n_end;
  __mmask16 masks[NP];
  __m512 bias[NP];
  Int8::Col cols[NP];
  for (int q = 0; q < NP; ++q) {
    masks[q] = lane_mask(lo - (c0 + q * 16), hi - (c0 + q * 16));
    bias[q] = g.bias ? _mm512_maskz_loadu_ps(masks[q], g.bias + c0 + q * 16) : _mm512_setzero_ps();
    cols[q] = Int8::col(scales + c0 + q * 16, colsum + c0 + q * 16);
  }
  alignas(64) float row[E == LowpEpi::kGeneral ? NP * 16 : 1];
  // The arguments in locals: C's stores may alias them as far as the
  // compiler knows, which would reload each one for every row.
  const bool has_bias = g.bias != nullptr;
  const float* const residual = g.residual ? g.residual + row0 * g.ldr + c0 : nullptr;
  float* const c = g.c + row0 * g.ldc + c0;
  const int64_t ldc = g.ldc, ldr = g.ldr;
  const ActParams act = g.act;
  for (int64_t i = 0; i < rows; ++i) {
    const Int8::Row rowq = Int8::row(rq[i]);
    __m512 y[NP];
    for (int q = 0; q < NP; ++q)
      y[q] = Int8::to_float(_mm512_load_si512(sums + i * 32 + q * 16), rowq, cols[q]);
    lowp_finish_row<NP, E>(y, bias, masks, has_bias, residual ? residual + i * ldr : nullptr,
                           c + i * ldc, row, act, lo - c0, hi - lo);
  }
}

using AmxEpiFn = void (*)(const GemmArgs&, const int32_t*, int64_t, int64_t, const RowQuant*,
                          int64_t, const float*, const int32_t*);

template <int NP>
AmxEpiFn amx_epilogue_fn(ActKind kind) {
  switch (kind) {
    case ActKind::kLinear:
      return &amx_epilogue<NP, LowpEpi::kLinear>;
    case ActKind::kRelu:
      return &amx_epilogue<NP, LowpEpi::kRelu>;
    case ActKind::kRelu6:
      return &amx_epilogue<NP, LowpEpi::kRelu6>;
    default:
      return &amx_epilogue<NP, LowpEpi::kGeneral>;
  }
}

void amx_gemm(const GemmArgs& g, const void* packed) {
  if (g.m <= 0 || g.n_end <= g.n_begin) return;
  const int64_t words = (g.k + 3) / 4;
  // k below one step takes one step of its own width (no zero words); else
  // steps of 16 words, the last one over a zero-padded copy of the panels'
  // tail (b_last): a B tile of fewer rows would need an A tile of fewer
  // columns beside it, two more tiles than the block's eight, and ldtilecfg
  // clears the accumulators, so the tail runs at the full width on zeros
  // instead of a second configuration, reading nothing past a panel.
  const int64_t kw = words < kStepWords ? words : kStepWords;
  const int64_t steps = (words + kw - 1) / kw;
  const int64_t tail_words = words - (steps - 1) * kw;  // in the last step
  const bool stage = tail_words < kw;
  // A rows in the chunk buffer, zero-padded to whole steps.
  const int64_t a_words = steps * kw;
  const int64_t a_stride = a_words * 4;
  // Rows per chunk: the quantized chunk stays in L2 (~384 KiB) while the
  // panel pairs pass over it; whole 32-row blocks.
  int64_t chunk = (384 * 1024) / a_stride;
  chunk = chunk < 32 ? 32 : chunk > 256 ? 256 : chunk / 32 * 32;
  const int64_t m_blocks = (g.m + 31) / 32 * 32;
  if (chunk > m_blocks) chunk = m_blocks;
  // Rows past m in a block's tiles are computed and dropped; the buffer
  // holds whole blocks (zeros where no row was quantized yet).
  thread_local std::vector<uint8_t> a_buf;
  thread_local std::vector<RowQuant> rq_buf;
  const size_t a_bytes = static_cast<size_t>(chunk * a_stride);
  if (a_buf.size() < a_bytes) a_buf.resize(a_bytes);
  if (rq_buf.size() < static_cast<size_t>(chunk)) rq_buf.resize(static_cast<size_t>(chunk));

  const int64_t panel_bytes = words * 64;
  const int64_t panels = (g.n + 15) / 16;
  const uint8_t* const pk = static_cast<const uint8_t*>(packed);
  const float* scales = reinterpret_cast<const float*>(pk + panels * panel_bytes);
  const int32_t* colsum = reinterpret_cast<const int32_t*>(scales + panels * 16);
  const int64_t p_first = g.n_begin / 16, p_end = (g.n_end + 15) / 16;
  const AmxEpiFn epi2 = amx_epilogue_fn<2>(g.act.kind);
  const AmxEpiFn epi1 = amx_epilogue_fn<1>(g.act.kind);
  alignas(64) int32_t sums[2 * 32 * 32];
  // Every panel's last tail_words quad rows, zeros after, once per call
  // (k % 64 != 0: the stem's k = 147, MobileNetV2's 96 and 144): 1 KiB a
  // panel, from panel p_first on.
  const int64_t pairs = (p_end - p_first + 1) / 2;
  thread_local std::vector<uint8_t> tails;
  if (stage) {
    const size_t bytes = static_cast<size_t>(pairs * 2 * kStepWords * 64);
    if (tails.size() < bytes) tails.resize(bytes);
    std::memset(tails.data(), 0, bytes);
    for (int64_t p = p_first; p < p_end; ++p)
      std::memcpy(tails.data() + (p - p_first) * kStepWords * 64,
                  pk + p * panel_bytes + (steps - 1) * kw * 64,
                  static_cast<size_t>(tail_words * 64));
    // The stores before the tile loads, which GCC's asm does not name as
    // reading memory.
    asm volatile("" ::: "memory");
  }
  // Rows outermost where the call's panels fit the L2 block (GemmBlocking::
  // l2_block_bytes, half the core's L2): each 32-row block then writes its C
  // rows whole while B stays in cache, instead of a 32-column strip of a
  // whole chunk per panel pair. bench/int8_amx_ab.py (relu, 1 thread, thread
  // CPU time, medians of 9, Xeon family 6 model 167, load 5), AMX / VNNI time
  // pairs outermost -> rows outermost (B up to 1 MiB): 3136x64x256 1.19 ->
  // 0.95, 3136x64x256r 1.09 -> 0.98, 784x128x512r 0.99 -> 0.79, 196x256x1024r
  // 0.74 -> 0.62, 3136x576x64 0.88 -> 0.87; B of 590 KiB to 2.3 MiB
  // (196x2304x256, 49x2048x512r, 49x4608x512) unchanged at 1 MiB, 49x4608x512
  // 0.48 -> 0.56 with rows outermost up to 4 MiB.
  const bool rows_outer = (p_end - p_first) * panel_bytes <= gemm_blocking().l2_block_bytes;

  const TileScope tiles(g.m < 16 ? static_cast<int>(g.m) : 16, static_cast<int>(kw));
  for (int64_t r0 = 0; r0 < g.m; r0 += chunk) {
    const int64_t rows = g.m - r0 < chunk ? g.m - r0 : chunk;
    if (g.q_rows)
      gather_rows(g, r0, rows, a_words, a_buf.data(), a_stride, rq_buf.data());
    else
      Int8::prepare_rows(g.a + r0 * g.lda, g.lda, rows, g.k, a_words, a_buf.data(), a_stride,
                         rq_buf.data());
    // The blocks (panel pair, 32-row block) in order, software-pipelined:
    // block j + 1's tile work is issued before block j's epilogue, which
    // reads the sums block j stored (two buffers), so the AVX-512 epilogue
    // runs while the tile unit computes instead of after it. In turn, a
    // block's epilogue waited on its own tile stores and the next block's
    // tiles on the epilogue: 3136x64x256 ran 1.12x the VNNI kernel's time.
    const int64_t nb = (rows + 31) / 32;
    // Block j: (panel pair, 32-row block), pairs outermost (the pair's
    // panels stay in L1 or L2 while the row blocks pass) or rows outermost.
    const auto pair_of = [&](int64_t j) { return rows_outer ? j % pairs : j / nb; };
    const auto row_of = [&](int64_t j) { return (rows_outer ? j / pairs : j % nb) * 32; };
    const auto issue = [&](int64_t j) {
      const int64_t pair = pair_of(j), i0 = row_of(j), p = p_first + 2 * pair;
      const int pb = p_end - p >= 2 ? 2 : 1;
      const int rb = rows - i0 > 16 ? 2 : 1;
      amx_block_fn(rb, pb)(
          a_buf.data() + i0 * a_stride, a_stride, pk + p * panel_bytes, panel_bytes, steps, kw,
          stage ? tails.data() + pair * 2 * kStepWords * 64 : nullptr, sums + (j & 1) * 32 * 32);
    };
    const auto finish = [&](int64_t j) {
      const int64_t p = p_first + 2 * pair_of(j), i0 = row_of(j);
      const int64_t mr = rows - i0 < 32 ? rows - i0 : 32;
      (p_end - p >= 2 ? epi2 : epi1)(g, sums + (j & 1) * 32 * 32, mr, r0 + i0, rq_buf.data() + i0,
                                     p, scales, colsum);
    };
    const int64_t blocks = pairs * nb;
    issue(0);
    for (int64_t j = 0; j < blocks; ++j) {
      if (j + 1 < blocks) issue(j + 1);
      finish(j);
    }
  }
}

}  // namespace

// Fewer rows than this run on AVX512-VNNI (one of its register tiles, 6
// rows): a 16-row tile computes mostly empty rows and the B tiles' loads
// bound it. bench/int8_amx_ab.py (u8 rows quantized per call, relu, 1
// thread, thread CPU time, medians of 9-11 interleaved, Xeon family 6 model
// 167, load 5-6), AMX / VNNI time: m x 2048 x 1000 at m = 1, 2, 4, 5, 6:
// 1.26, 1.17, 1.14, 1.08, 1.19; m = 7: 0.87, 8: 0.76, 16: 0.70; m x 4608 x
// 512 at m = 1, 4, 5, 6: 1.15, 1.10, 1.06, 0.99; m = 7: 0.79, 16: 0.68.
constexpr int64_t kAmxMinRows = 7;
// k below this many words (28 values) runs on AVX512-VNNI too: a tdpbusd
// over K = 4 words costs what one over 16 does, while vpdpbusd's work scales
// with k. Same bench, 3136 rows, AMX / VNNI time: k = 16 at n = 32, 96, 256:
// 0.96, 1.13, 1.23; 12544x27x32 1.06; k = 32: 0.94, 1.10, 0.98; k = 64: 0.89,
// 0.84, 0.98; k = 192: 0.92, 0.80, 0.70.
constexpr int64_t kAmxMinWords = 8;

void gemm_int8(const GemmArgs& g, const void* packed) {
  if (g.m < kAmxMinRows || (g.k + 3) / 4 < kAmxMinWords) {
    avx512vnni::gemm_int8(g, packed);
    return;
  }
  amx_gemm(g, packed);
}

}  // namespace tfjs_infer::kernels::amxint8
