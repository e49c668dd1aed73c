// bf16 GEMM on AMX tiles (tdpbf16ps: a 16 x 16 float32 tile += a 16-row
// tile of 32 bfloat16 per row times a 16 pair-row tile of 16 column pairs),
// where lowp_bf16_amx() says (kernels/lowp.h; kernels/cpu_params.cpp derives
// it from the CPU). Same contract as the AVX512-BF16 GEMM (GemmArgs: bias,
// residual, activation, column range), same packed B, same A rounding.
//
// Numerics: products of two bfloat16 are exact, but how the tile unit sums
// a row's 32 products into the float32 lane is implementation-defined; on
// this module's first host (an Intel Xeon, cpuid family 6 model 167, a KVM
// guest) it matched neither vdpbf16ps's "odd then even product,
// each add rounded" nor sequential, pair-fused, pairwise-tree, group-of-4/8/
// 16 or one-rounding sums, in round-to-nearest or toward zero (200 random
// tiles; the best model, a halving tree, agreed on 80 % of lanes). So the
// bits differ from the AVX512-BF16 kernel's by float32 summation error
// (tests/precision/test_bf16_amx.py states the bound). Determinism: a fixed
// k decomposition (tiles of 32 k from k = 0, the last one's missing pairs
// zero in A and in B), every row through the tiles (a short last row block
// is zero padded, never routed elsewhere): a row's bits depend on k and its
// own values only, never on m, the row split or the column split.
#include "kernels/x86/lowp_x86.h"
// (blank line: keeps clang-format from reordering the includes)
#include <immintrin.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "core/env_switch.h"
#include "kernels/isa_kernels.h"
#include "kernels/x86/amx_tiles.h"

namespace tfjs_infer::kernels::amxbf16 {
namespace {

// Tiles: 0-3 the 2 x 2 accumulators (row tile r, panel p: r * 2 + p), 4-5
// the A tiles, 6-7 the B tiles; every one 16 rows of 64 bytes.
constexpr int kTileRows = 16;
constexpr int kKPerTile = 32;  // bf16 values per A tile row (16 pairs)

// Configures the tiles for this thread and releases them (tilerelease) when
// the call ends, also on an exception path: a thread that keeps tile state
// costs 8 KiB more per context switch. ldtilecfg, one product and
// tilerelease took 70 ns a call (a loop of them, thread CPU time, the host
// above): per call, not per thread, so no state outlives a call.
class TileScope {
 public:
  TileScope() {
    TileConfig cfg;
    for (int i = 0; i < 8; ++i) {
      cfg.colsb[i] = 64;
      cfg.rows[i] = kTileRows;
    }
    load_tile_config(cfg);
  }
  ~TileScope() { _tile_release(); }
  TileScope(const TileScope&) = delete;
  TileScope& operator=(const TileScope&) = delete;
};

// Row i of A (k values) to `words` bf16 pairs at out (round to nearest even,
// as the AVX512-BF16 kernel: vcvtne2ps2bf16), zeros from k on.
inline void convert_row(const float* x, int64_t k, int64_t values, uint16_t* out) {
  for (int64_t i = 0; i < values; i += 32) {
    const int64_t left = k - i;
    const __mmask16 lo = left >= 16 ? 0xffff
                         : left > 0 ? static_cast<__mmask16>((1u << left) - 1u)
                                    : 0;
    const __mmask16 hi = left >= 32  ? 0xffff
                         : left > 16 ? static_cast<__mmask16>((1u << (left - 16)) - 1u)
                                     : 0;
    const __m512bh h = _mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(hi, x + i + 16),
                                           _mm512_maskz_loadu_ps(lo, x + i));
    _mm512_storeu_si512(out + i, reinterpret_cast<const __m512i&>(h));
  }
}

// A bf16 row rounded already (GemmArgs::a_bf16, k even) copied, zeros from k on.
inline void copy_row(const uint16_t* x, int64_t k, int64_t values, uint16_t* out) {
  for (int64_t i = 0; i < values; i += 32) {
    const int64_t left = k - i;
    const __mmask32 in = left >= 32 ? ~0u : left > 0 ? (1u << left) - 1u : 0u;
    _mm512_storeu_si512(out + i, _mm512_maskz_loadu_epi16(in, x + i));
  }
}

// A thread's buffer of at least `bytes`, 64-byte aligned: a tile row that
// straddles two cache lines costs two loads. With both A's and B's rows
// 16 bytes off, 392x512x256 ran at 0.44x the aligned rate (tile loop alone,
// 1 thread, thread CPU time; A alone off 0.69x).
uint8_t* aligned_scratch(std::vector<uint8_t>& v, size_t bytes) {
  if (v.size() < bytes + 64) v.resize(bytes + 64);
  const uintptr_t at = reinterpret_cast<uintptr_t>(v.data());
  return v.data() + ((64 - at % 64) % 64);
}

// TFJS_INFER_BF16_AMX_COPY=1: a bf16 A copied into the chunk buffer even
// where it could be read in place (before), for A/B measurements. Same bits.
bool copy_bf16_rows() {
  static const bool copy = env_is("TFJS_INFER_BF16_AMX_COPY", "1");
  return copy;
}

struct Call {
  const GemmArgs* g;
  const uint8_t* packed;
  int64_t k_tiles;       // tiles of 32 k
  int64_t full_tiles;    // k tiles whose 16 pair rows all lie in the panel
  int64_t panel_bytes;   // ceil(k / 2) pair rows of 64 bytes
  const uint8_t* tails;  // per panel from p_first: its last k tile zero padded (1 KiB)
  int64_t p_first;
  const uint8_t* a;  // the chunk's converted rows
  int64_t a_stride;  // bytes
};

// The B tile of panel p for k tile t.
inline const uint8_t* b_tile(const Call& c, int64_t p, int64_t t) {
  if (t < c.full_tiles) return c.packed + p * c.panel_bytes + t * (kTileRows * 64);
  return c.tails + (p - c.p_first) * (kTileRows * 64);
}

// MT row tiles (16 rows each) by NT panels over the whole k, the sums stored
// to out (MT * 16 rows of 32 floats).
template <int MT, int NT>
void tile_block(const Call& c, const uint8_t* a, int64_t p, float* out) {
  _tile_zero(0);
  if constexpr (NT == 2) _tile_zero(1);
  if constexpr (MT == 2) _tile_zero(2);
  if constexpr (MT == 2 && NT == 2) _tile_zero(3);
  const int64_t as = c.a_stride;
  for (int64_t t = 0; t < c.k_tiles; ++t) {
    _tile_loadd(6, b_tile(c, p, t), 64);
    _tile_loadd(4, a + t * 64, as);
    if constexpr (NT == 2) _tile_loadd(7, b_tile(c, p + 1, t), 64);
    if constexpr (MT == 2) _tile_loadd(5, a + kTileRows * as + t * 64, as);
    _tile_dpbf16ps(0, 4, 6);
    if constexpr (NT == 2) _tile_dpbf16ps(1, 4, 7);
    if constexpr (MT == 2) _tile_dpbf16ps(2, 5, 6);
    if constexpr (MT == 2 && NT == 2) _tile_dpbf16ps(3, 5, 7);
  }
  constexpr int kLd = 32 * 4;  // out: rows of 32 floats
  _tile_stored(0, out, kLd);
  if constexpr (NT == 2) _tile_stored(1, out + 16, kLd);
  if constexpr (MT == 2) _tile_stored(2, out + 16 * 32, kLd);
  if constexpr (MT == 2 && NT == 2) _tile_stored(3, out + 16 * 32 + 16, kLd);
}

// (acc + bias) + residual, then the activation, on the valid rows and
// columns [lo, hi) of a block (sums in `sums`, rows of 32 floats from
// column c0): the AVX512-BF16 kernel's epilogue, operand for operand (max
// and min with the operand order that keeps NaN). The masks and the bias
// are set once per block, the activation kind fixed at compile time. With
// a short k the epilogue's stores of C bound the kernel, not the tiles:
// 3136x64x256 took 80 us without the epilogue and 350 us with it (kernel
// alone, 1 thread, thread CPU time); deciding the masks and the kind per
// vector instead cost within the noise (392x64x256 28.6 against 27.6 us).
template <LowpEpi E>
void epilogue_as(const GemmArgs& g, const float* sums, int64_t row0, int64_t rows, int64_t c0,
                 int64_t lo, int64_t hi) {
  const __mmask16 m0 = lane_mask(lo - c0, hi - c0), m1 = lane_mask(lo - c0 - 16, hi - c0 - 16);
  const __m512 b0 = g.bias ? _mm512_maskz_loadu_ps(m0, g.bias + c0) : _mm512_setzero_ps();
  const __m512 b1 = g.bias ? _mm512_maskz_loadu_ps(m1, g.bias + c0 + 16) : _mm512_setzero_ps();
  const bool has_bias = g.bias != nullptr;
  const float* res = g.residual ? g.residual + row0 * g.ldr + c0 : nullptr;
  float* c = g.c + row0 * g.ldc + c0;
  const int64_t ldc = g.ldc, ldr = g.ldr;
  alignas(64) float buf[32];
  const auto finish = [&](__m512 y, __mmask16 m, float* to) {
    if constexpr (E == LowpEpi::kRelu || E == LowpEpi::kRelu6)
      y = _mm512_max_ps(_mm512_setzero_ps(), y);
    if constexpr (E == LowpEpi::kRelu6) y = _mm512_min_ps(_mm512_set1_ps(6.0f), y);
    if (m == 0xffff)
      _mm512_storeu_ps(to, y);
    else
      _mm512_mask_storeu_ps(to, m, y);
  };
  for (int64_t i = 0; i < rows; ++i, c += ldc) {
    __m512 y0 = _mm512_load_ps(sums + i * 32), y1 = _mm512_load_ps(sums + i * 32 + 16);
    if (has_bias) {
      y0 = _mm512_add_ps(y0, b0);
      y1 = _mm512_add_ps(y1, b1);
    }
    if (res) {
      y0 = _mm512_add_ps(y0, _mm512_maskz_loadu_ps(m0, res));
      y1 = _mm512_add_ps(y1, _mm512_maskz_loadu_ps(m1, res + 16));
      res += ldr;
    }
    if constexpr (E == LowpEpi::kGeneral) {
      _mm512_store_ps(buf, y0);
      _mm512_store_ps(buf + 16, y1);
      act_apply<VecAvx512>(g.act, buf + (lo - c0), c + (lo - c0), hi - lo);
    } else {
      if (m0) finish(y0, m0, c);
      if (m1) finish(y1, m1, c + 16);
    }
  }
}

void epilogue(const GemmArgs& g, const float* sums, int64_t row0, int64_t rows, int64_t c0,
              int64_t lo, int64_t hi) {
  switch (g.act.kind) {
    case ActKind::kLinear:
      return epilogue_as<LowpEpi::kLinear>(g, sums, row0, rows, c0, lo, hi);
    case ActKind::kRelu:
      return epilogue_as<LowpEpi::kRelu>(g, sums, row0, rows, c0, lo, hi);
    case ActKind::kRelu6:
      return epilogue_as<LowpEpi::kRelu6>(g, sums, row0, rows, c0, lo, hi);
    default:
      return epilogue_as<LowpEpi::kGeneral>(g, sums, row0, rows, c0, lo, hi);
  }
}

}  // namespace

void gemm_bf16(const GemmArgs& g, const void* packed) {
  if (g.m <= 0 || g.n_end <= g.n_begin) return;
  const int64_t pairs = (g.k + 1) / 2;
  const int64_t k_tiles = (g.k + kKPerTile - 1) / kKPerTile;
  const int64_t values = k_tiles * kKPerTile;  // a converted row, zero padded
  const int64_t a_stride = values * 2;
  const int64_t p_first = g.n_begin / 16, p_end = (g.n_end + 15) / 16;
  Call c;
  c.g = &g;
  c.packed = static_cast<const uint8_t*>(packed);
  c.k_tiles = k_tiles;
  c.full_tiles = pairs / kTileRows;
  c.panel_bytes = pairs * 64;
  c.p_first = p_first;
  c.a_stride = a_stride;
  // The last k tile of each panel when it has fewer than 16 pair rows: copied
  // and zero padded, so that no tile load reads past the panel (the next
  // panel's bytes times A's zero padding could be inf * 0 = NaN).
  thread_local std::vector<uint8_t> tail_buf;
  const int64_t tail_pairs = pairs - c.full_tiles * kTileRows;
  c.tails = nullptr;
  if (tail_pairs > 0) {
    const size_t tail_bytes = static_cast<size_t>((p_end - p_first) * kTileRows * 64);
    uint8_t* tails = aligned_scratch(tail_buf, tail_bytes);
    std::memset(tails, 0, tail_bytes);
    for (int64_t p = p_first; p < p_end; ++p)
      std::memcpy(tails + (p - p_first) * kTileRows * 64,
                  c.packed + p * c.panel_bytes + c.full_tiles * kTileRows * 64,
                  static_cast<size_t>(tail_pairs * 64));
    c.tails = tails;
  }
  // Column blocks of panel pairs whose packed bytes fit about 1 MiB (half a
  // 2 MiB L2): the row blocks sweep a block of B from L2, not from L3.
  const int64_t pair_bytes = 2 * c.panel_bytes;
  int64_t block = (1 << 20) / pair_bytes * 2;
  block = block < 2 ? 2 : block;
  // Rows converted a chunk at a time (about 384 KiB, in L2), once for all
  // the column blocks; a row block's 32 rows (32 KiB at k = 512) stay in L1
  // while the panel pairs of a column block pass under them. Converting 32
  // rows per column block instead cost ResNet50's 49x4608x512 layers six
  // conversions of A (25 % of the kernel's samples in the model).
  int64_t chunk = (384 << 10) / a_stride / 32 * 32;
  chunk = chunk < 32 ? 32 : chunk;
  const int64_t m32 = (g.m + 31) / 32 * 32;
  if (chunk > m32) chunk = m32;
  thread_local std::vector<uint8_t> a_buf;
  uint8_t* const abuf = aligned_scratch(a_buf, static_cast<size_t>(chunk * a_stride));
  c.a = abuf;
  // One block's sums. Running a block's epilogue after the next block's
  // tile products were issued (two buffers, to overlap the vector epilogue
  // with the tile unit) did not pay: 392x64x256, 3136x64x256, 784x96x24 and
  // 392x512x256 ran 0.95-1.06x the time of this order (kernel alone, 1
  // thread, thread CPU time, two interleaved runs, load ~4).
  alignas(64) float sums[32 * 32];
  // A bf16 A rounded already (GemmArgs::a_bf16: the depthwise output a
  // MobileNetV2 projection reads) whose rows are whole k tiles on 64-byte
  // lines: its full 32-row blocks are read in place, only a short last block
  // is copied (zero padded). The same values: the same bits. MobileNetV2
  // bf16, batch 32, 1 thread, thread CPU time, three fresh-process pairs
  // (load ~4.5): 74.6-77.5 ms against 78.5-85.0 copied
  // (TFJS_INFER_BF16_AMX_COPY=1).
  const bool in_place = g.a_bf16 && g.k % kKPerTile == 0 && (g.lda * 2) % 64 == 0 &&
                        reinterpret_cast<uintptr_t>(g.a_bf16) % 64 == 0 && !copy_bf16_rows();
  TileScope tiles;
  for (int64_t r0 = 0; r0 < g.m; r0 += chunk) {
    const int64_t rows = g.m - r0 < chunk ? g.m - r0 : chunk;
    const int64_t rows16 = (rows + 15) / 16 * 16;
    // The last block's tiles were loaded before these stores (tile loads are
    // ordered before later stores, as other loads are).
    const int64_t copied0 = in_place ? rows / 32 * 32 : 0;  // rows from here: in abuf
    for (int64_t i = copied0; i < rows; ++i) {
      uint16_t* out = reinterpret_cast<uint16_t*>(abuf + (i - copied0) * a_stride);
      if (g.a_bf16)
        copy_row(g.a_bf16 + (r0 + i) * g.lda, g.k, values, out);
      else
        convert_row(g.a + (r0 + i) * g.lda, g.k, values, out);
    }
    // The last row tile's missing rows: zeros (their sums are dropped).
    std::memset(abuf + (rows - copied0) * a_stride, 0,
                static_cast<size_t>((rows16 - rows) * a_stride));
    for (int64_t pb = p_first; pb < p_end; pb += block) {
      const int64_t pb_end = pb + block < p_end ? pb + block : p_end;
      for (int64_t i0 = 0; i0 < rows; i0 += 32) {
        const int64_t valid = rows - i0 < 32 ? rows - i0 : 32;
        const bool tall = valid > 16;
        const uint8_t* a = abuf + (i0 - copied0) * a_stride;
        c.a_stride = a_stride;
        if (i0 < copied0) {
          a = reinterpret_cast<const uint8_t*>(g.a_bf16 + (r0 + i0) * g.lda);
          c.a_stride = g.lda * 2;
        }
        for (int64_t p = pb; p < pb_end; p += 2) {
          const bool two = p + 1 < pb_end;
          if (tall && two)
            tile_block<2, 2>(c, a, p, sums);
          else if (tall)
            tile_block<2, 1>(c, a, p, sums);
          else if (two)
            tile_block<1, 2>(c, a, p, sums);
          else
            tile_block<1, 1>(c, a, p, sums);
          const int64_t c0 = p * 16;
          epilogue(g, sums, r0 + i0, valid, c0, c0 > g.n_begin ? c0 : g.n_begin,
                   c0 + 32 < g.n_end ? c0 + 32 : g.n_end);
        }
      }
    }
  }
}

}  // namespace tfjs_infer::kernels::amxbf16
