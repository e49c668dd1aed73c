// Packed-B GEMM over a traits class V, shared by the SIMD kernels (AVX2, AVX-512, NEON).
//
//   C[0:m, n_begin:n_end] = act(A . B + bias + residual)
//
// Packed layout: column panels of NR = NV * W floats (zero padded past n),
// in groups of Cfg::kGroup panels (the last group may hold fewer). A group
// is stored row by row: its k row kk holds the NR floats of each of its
// panels, one after the other. A tile reading all the panels of a group
// (the batch-1 GEMV) streams one contiguous run of memory, which L3 and
// DRAM deliver faster than several concurrent streams; a tile reading fewer
// steps over the others. Tiles never span two groups, except the small-m
// tiles of Cfg::kSmallGroups, which read whole groups as one wide panel each.
//
// Determinism: every C element is one register lane that starts at +0 and
// takes acc = fma(a[i][kk], b[kk][j], acc) for kk = 0, 1, ..., k-1 in order,
// whatever the tile shape (MR rows x NP panels), the row count m, the column
// range or the path (small-m "GEMV" tiles or the blocked path). No split-k and
// no partial accumulators, so a row's bits never depend on the batch it came
// in or on how callers split rows and panels over threads. For large k the
// blocked path cuts k into blocks and parks each lane's running sum in a
// float buffer between blocks: a float store and reload is exact, so this is
// the same sequence of FMAs. The epilogue is (acc + bias) + residual then the
// activation, in that order, in float32.
//
// A is read in place (no packing: rows are broadcast from memory), C and the
// residual are touched only inside [0, m) x [n_begin, n_end), A rows only in
// [0, k), with masked loads and stores at the column edge. The residual may
// be C itself (an element's residual is read before its C value is written).
//
// Include only from one ISA's translation units; all in an anonymous namespace.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <type_traits>

#include "kernels/kernel_args.h"
#include "kernels/simd/activation_simd.h"
#include "kernels/simd/gemm_pack_simd.h"
#include "kernels/simd/gemm_tile_args.h"
#include "kernels/simd/gemm_tile_simd.h"

namespace tfjs_infer::kernels {
namespace {

// Per-ISA configuration (see gemm_*.cpp):
//   V; NR = NV * V::kW panel width; the blocked path's register tiles: MR rows
//   x kBlockNp panels, MR1 rows x 1 panel, MRH rows x 1 vector (a last panel
//   with at most W valid columns);
//   small_m: rows handled by the small-m path (the batch-1 GEMV case), whose
//   tiles take all m rows and NP panels at once (kSmallNp[m]) so that enough
//   independent accumulators hide the FMA latency while the packed panels
//   stream at memory bandwidth. The cache blocking (the L2 budget for the block
//   of packed B panels the blocked path keeps while it sweeps the row tiles,
//   the k block, the row chunk) comes from the CPU at run time: gemm_blocking().
template <class Cfg>
TileFn pick_small(int m, ActKind kind) {
  using V = typename Cfg::V;
  switch (m) {
    case 1:
      return pick_epi<V, Cfg::NR, 1, Cfg::kSmallNp[1], Cfg::NV>(kind);
    case 2:
      return pick_epi<V, Cfg::NR, 2, Cfg::kSmallNp[2], Cfg::NV>(kind);
    case 3:
      return pick_epi<V, Cfg::NR, 3, Cfg::kSmallNp[3], Cfg::NV>(kind);
    case 4:
      return pick_epi<V, Cfg::NR, 4, Cfg::kSmallNp[4], Cfg::NV>(kind);
    default:
      return nullptr;
  }
}

// Small-m tiles that span Cfg::kSmallGroups[m] whole panel groups (0: none):
// each group row is read as one wide "panel" of kGroup x NR floats, the
// groups kGroup x NR x k floats apart (TileArgs::panel_stride). Narrow groups
// keep the blocked path's panel pairs contiguous while the batch-1 GEMV
// still gets enough accumulators.
template <class Cfg, int M>
TileFn pick_small_groups_m(ActKind kind) {
  if constexpr (Cfg::kSmallGroups[M] > 0) {
    return pick_epi<typename Cfg::V, Cfg::NR * Cfg::kGroup, M, Cfg::kSmallGroups[M],
                    Cfg::NV * Cfg::kGroup>(kind);
  } else {
    return nullptr;
  }
}

template <class Cfg>
TileFn pick_small_groups(int m, ActKind kind) {
  switch (m) {
    case 1:
      return pick_small_groups_m<Cfg, 1>(kind);
    case 2:
      return pick_small_groups_m<Cfg, 2>(kind);
    case 3:
      return pick_small_groups_m<Cfg, 3>(kind);
    case 4:
      return pick_small_groups_m<Cfg, 4>(kind);
    default:
      return nullptr;
  }
}

// Tiles of one row block over the columns [col, col_end): `ng` whole panel
// groups with `groups` (when it is set and they are full and valid), else
// groups of np full panels with `wide` (when np > 1), then single panels; a
// last panel of at most W valid columns uses one vector per row.
template <class Cfg>
void run_row_block(const GemmArgs& g, TileArgs& t, int ng, TileFn groups, int np, TileFn wide,
                   TileFn one, TileFn half, int64_t row0, int64_t col, int64_t col_end) {
  constexpr int NR = Cfg::NR;
  constexpr int W = Cfg::V::kW;
  constexpr int64_t GR = int64_t{Cfg::kGroup} * NR;  // floats in a group row
  t.a = g.a_rows ? nullptr : g.a + row0 * g.lda;
  t.a_rows = g.a_rows ? g.a_rows + row0 : nullptr;
  t.k0 = 0;
  const int64_t pf_rows = gemm_blocking().gemv_prefetch_rows;
  float* c_row = g.c + row0 * g.ldc;
  const float* r_row = g.residual ? g.residual + row0 * g.ldr : nullptr;
  const int64_t panels = (g.n + NR - 1) / NR;
  const int64_t full_panels = panels - panels % Cfg::kGroup;  // panels in full groups
  while (col < col_end) {
    const int64_t left = col_end - col;
    const int64_t p = col / NR;
    const int64_t width = group_width<Cfg>(panels, p);
    t.b = g.packed_b + panel_offset<Cfg>(g.k, p);
    t.kstride = width * NR;
    t.prefetch = pf_rows * t.kstride;
    t.c = c_row + col;
    t.bias = g.bias ? g.bias + col : nullptr;
    t.res = r_row ? r_row + col : nullptr;
    if (groups && p % Cfg::kGroup == 0 && p + ng * Cfg::kGroup <= full_panels && left >= ng * GR) {
      t.panel_stride = g.k * GR;
      t.cols = ng * GR;
      groups(t);
      t.panel_stride = NR;
      col += ng * GR;
    } else if (np > 1 && left >= np * NR && p % Cfg::kGroup + np <= width) {
      t.cols = np * NR;
      wide(t);
      col += np * NR;
    } else {
      t.cols = left < NR ? left : NR;
      (t.cols <= W ? half : one)(t);
      col += NR;
    }
  }
}

// Rows [row_begin, row_end) over the columns [col, col + ncols) with one tile
// kind: NP panels x NV vectors per row, row tiles of balanced heights <= R
// (the first `extra` tiles one row taller). Tile shapes never change results,
// only speed. t.k, the k offset k0 and the partial-sum buffer (k-blocked
// path: part holds rows from row_begin and columns from part_col0) are set by
// the caller.
//
// `next` (next_lines 64-byte lines, or none) is the B block the caller runs
// after this one: the sweep's tile calls prefetch equal shares of it into L2.
template <class Cfg, int NP, int NV, int R>
void sweep(const GemmArgs& g, TileArgs& t, int64_t row_begin, int64_t row_end, int64_t col,
           int64_t ncols, int64_t k0, float* part, int64_t part_col0, bool first, bool last,
           const char* next, int64_t next_lines) {
  using V = typename Cfg::V;
  constexpr int NR = Cfg::NR;
  const int64_t prefetch_rows = gemm_blocking().prefetch_rows;
  const int64_t res_pf = gemm_blocking().res_prefetch;
  const bool res_prefetch = last && (res_pf >= 2 || (res_pf == 1 && g.residual));
  const int64_t m = row_end - row_begin;
  const int64_t tiles = (m + R - 1) / R;
  const int64_t calls = tiles * ((ncols + NP * NR - 1) / (NP * NR));
  int64_t call = 0;
  const int64_t base = m / tiles;
  const int64_t extra = m % tiles;
  TileFn fn_hi = pick_fixed_k<Cfg, NP, NV, R>(g, k0, t.k, static_cast<int>(base + 1));
  TileFn fn_lo = pick_fixed_k<Cfg, NP, NV, R>(g, k0, t.k, static_cast<int>(base));
  if (!fn_hi) fn_hi = pick_tile<V, NR, NP, NV, R>(static_cast<int>(base + 1), g.act.kind);
  if (!fn_lo) fn_lo = pick_tile<V, NR, NP, NV, R>(static_cast<int>(base), g.act.kind);
  const int64_t panels = (g.n + NR - 1) / NR;
  int64_t row0 = row_begin;
  for (int64_t tile = 0; tile < tiles; ++tile) {
    const bool hi = tile < extra;
    t.a = g.a_rows ? nullptr : g.a + row0 * g.lda + k0;
    t.a_rows = g.a_rows ? g.a_rows + row0 : nullptr;
    t.k0 = k0;
    float* c_row = g.c + row0 * g.ldc;
    const float* r_row = g.residual ? g.residual + row0 * g.ldr : nullptr;
    const int64_t rows = hi ? base + 1 : base;
    // The row tile after this one: rows below, its height, none past the end.
    const int64_t next_rows = tile + 1 < tiles ? (tile + 1 < extra ? base + 1 : base) : 0;
    const bool pf_epi = res_prefetch && next_rows > 0;
    for (int64_t c = col; c < col + ncols; c += NP * NR) {
      t.kstride = group_width<Cfg>(panels, c / NR) * NR;
      t.b = g.packed_b + panel_offset<Cfg>(g.k, c / NR) + k0 * t.kstride;
      t.c = c_row + c;
      t.bias = g.bias ? g.bias + c : nullptr;
      t.res = r_row ? r_row + c : nullptr;
      t.cols = col + ncols - c < NP * NR ? col + ncols - c : NP * NR;
      t.prefetch = tile == 0 ? prefetch_rows * t.kstride : 0;
      const int64_t line0 = next_lines * call / calls;
      const int64_t line1 = next_lines * (call + 1) / calls;
      ++call;
      t.pf_next = next ? next + line0 * 64 : nullptr;
      t.pf_next_lines = next ? std::min(line1 - line0, t.k) : 0;
      t.pf_res = pf_epi && r_row ? r_row + rows * g.ldr + c : nullptr;
      t.pf_c = pf_epi ? c_row + rows * g.ldc + c : nullptr;
      t.pf_rows = next_rows;
      if (part) {
        float* p = part + (row0 - row_begin) * t.ldp + (c - part_col0);
        t.acc_in = first ? nullptr : p;
        t.acc_out = last ? nullptr : p;
      }
      (hi ? fn_hi : fn_lo)(t);
    }
    row0 += rows;
  }
}

// Rows [r0, r1) of the trailing panel at columns [col, col + ncols) with the
// narrow tiles (nothing for a Cfg without them; the caller checked the width).
template <class Cfg>
void sweep_narrow(const GemmArgs& g, TileArgs& t, int64_t r0, int64_t r1, int64_t col,
                  int64_t ncols, int64_t k0, float* part, int64_t part_col0, bool first, bool last,
                  const char* next, int64_t next_lines) {
  if constexpr (NarrowTail<Cfg>::kNv > 0) {
    sweep<NarrowCfg<Cfg>, 1, Cfg::kNarrowNv, Cfg::kNarrowRows>(
        g, t, r0, r1, col, ncols, k0, part, part_col0, first, last, next, next_lines);
  }
}

template <class Cfg>
void gemm(const GemmArgs& g) {
  using V = typename Cfg::V;
  constexpr int NR = Cfg::NR;
  if (g.m <= 0 || g.n_end <= g.n_begin) return;
  const ActKind kind = g.act.kind;
  TileArgs t;
  t.k = g.k;
  t.lda = g.lda;
  t.panel_stride = NR;
  t.kstride = NR;
  t.ldc = g.ldc;
  t.ldr = g.ldr;
  t.act = &g.act;
  t.acc_in = nullptr;
  t.acc_out = nullptr;
  t.ldp = 0;
  t.prefetch = 0;
  t.a_rows = nullptr;
  t.seg_off = g.seg_off;
  t.seg_k = g.seg_k;
  t.k0 = 0;
  t.pf_next = nullptr;
  t.pf_next_lines = 0;
  t.pf_next_l1 = gemm_blocking().next_prefetch >= 2;
  t.pf_res = nullptr;
  t.pf_c = nullptr;
  t.pf_rows = 0;

  if (g.m <= Cfg::kSmallM) {
    const int m = static_cast<int>(g.m);
    run_row_block<Cfg>(g, t, Cfg::kSmallGroups[m], pick_small_groups<Cfg>(m, kind),
                       Cfg::kSmallNp[m], pick_small<Cfg>(m, kind),
                       pick_tile<V, NR, 1, Cfg::NV, Cfg::kSmallM>(m, kind),
                       pick_tile<V, NR, 1, 1, Cfg::kSmallM>(m, kind), 0, g.n_begin, g.n_end);
    return;
  }

  // Column blocks whose packed panels (k rows of them, or kc rows on the
  // k-blocked path) fit the L2 budget; the block stays in L2 while the row
  // tiles pass over it. Within a block: pairs (kBlockNp) of full panels with
  // MR-row tiles, then the remaining panels one at a time with taller MR1-row
  // tiles (same accumulator count), then a trailing panel of at most W valid
  // columns with MRH-row one-vector tiles.
  //
  // Large k (> k_block): k is cut into nkb nearly equal blocks (depending on k
  // and the blocking only) and rows into chunks of row_chunk; each block's partial sums go to a
  // heap buffer and come back exactly, so the result is the unblocked one.
  constexpr int BNP = Cfg::kBlockNp;
  constexpr int W = V::kW;
  static_assert(Cfg::kGroup % BNP == 0, "pairs of panels must not span two groups");
  const int64_t k = g.k;
  const GemmBlocking& blocking = gemm_blocking();
  const int64_t k_block = blocking.k_block > 0 ? blocking.k_block : k;
  const int64_t row_chunk_max = blocking.row_chunk > 0 ? blocking.row_chunk : g.m;
  int64_t nkb = k > k_block ? (k + k_block - 1) / k_block : 1;
  int64_t kc = 0, block_cols = 0;
  auto plan = [&] {
    kc = (k + nkb - 1) / nkb;
    const int64_t panel_bytes = kc * NR * static_cast<int64_t>(sizeof(float));
    int64_t block_panels = panel_bytes > 0 ? blocking.l2_block_bytes / panel_bytes : 1;
    if (block_panels > BNP) block_panels -= block_panels % BNP;  // whole wide tiles
    if (block_panels < 1) block_panels = 1;
    block_cols = block_panels * NR;
  };
  plan();
  float* part = nullptr;
  if (nkb > 1) {
    part = static_cast<float*>(std::malloc(sizeof(float) * row_chunk_max * block_cols));
    if (!part) {  // no memory for partial sums: one k block (same bits, slower)
      nkb = 1;
      plan();
    }
  }
  // Thin k (one k block): when a column block of at most the L1 share holds
  // whole wide tiles, row chunks go outermost and such column blocks inside,
  // so each block's panels stay in L1 while a chunk's row tiles (their A rows
  // in L1/L2) pass over it, instead of the row tiles streaming all of B from
  // L2. The partial-sum buffer is unused (nkb == 1).
  bool l1_order = false;
  if (nkb == 1 && blocking.l1_block_bytes > 0) {
    int64_t l1_panels = blocking.l1_block_bytes / (k * NR * static_cast<int64_t>(sizeof(float)));
    l1_panels -= l1_panels % BNP;
    if (l1_panels >= BNP && l1_panels * NR < block_cols) {
      l1_order = true;
      block_cols = l1_panels * NR;
    }
  }
  const int64_t row_chunk = nkb > 1 || l1_order ? row_chunk_max : g.m;
  t.ldp = block_cols;
  // The blocks in the order they run: (column block, row chunk, k block).
  const int64_t ncb = (g.n_end - g.n_begin + block_cols - 1) / block_cols;
  const int64_t nrc = (g.m + row_chunk - 1) / row_chunk;
  const int64_t nblocks = ncb * nrc * nkb;
  auto block_at = [&](int64_t i, int64_t* cb, int64_t* rc, int64_t* kb) {
    *kb = i % nkb;
    const int64_t outer = i / nkb;
    *cb = l1_order ? outer % ncb : outer / nrc;
    *rc = l1_order ? outer / ncb : outer % nrc;
  };
  const bool next_prefetch = blocking.next_prefetch > 0;
  const int64_t panels = (g.n + NR - 1) / NR;
  constexpr int64_t G = Cfg::kGroup;
  // Block i's packed B as one run of bytes: its panel groups' k rows of the
  // block (with one k block, whole groups, adjacent in memory); of several
  // groups on the k-blocked path only the first one's rows.
  auto block_bytes = [&](int64_t i, const char** lo, int64_t* lines) {
    int64_t cb, rc, kb;
    block_at(i, &cb, &rc, &kb);
    const int64_t c0 = g.n_begin + cb * block_cols;
    const int64_t c1 = std::min(g.n_end, c0 + block_cols);
    const int64_t p0 = c0 / NR / G * G, p_last = (c1 - 1) / NR / G * G;
    const float* first = g.packed_b + panel_offset<Cfg>(k, p0);
    const float* end;
    if (nkb == 1) {
      end = g.packed_b + panel_offset<Cfg>(k, p_last) + k * group_width<Cfg>(panels, p_last) * NR;
    } else {
      const int64_t width = group_width<Cfg>(panels, p0) * NR;
      const int64_t k0 = kb * kc;
      first += k0 * width;
      end = first + std::min(kc, k - k0) * width;
    }
    *lo = reinterpret_cast<const char*>(first);
    *lines = (end - first) * static_cast<int64_t>(sizeof(float)) / 64;
  };
  for (int64_t i = 0; i < nblocks; ++i) {
    int64_t cb, rc, kb;
    block_at(i, &cb, &rc, &kb);
    const int64_t c0 = g.n_begin + cb * block_cols;
    const int64_t c1 = std::min(g.n_end, c0 + block_cols);
    const int64_t r0 = rc * row_chunk;
    const int64_t r1 = std::min(g.m, r0 + row_chunk);
    const char* next = nullptr;
    int64_t next_lines = 0;
    if (next_prefetch && i + 1 < nblocks) block_bytes(i + 1, &next, &next_lines);
    // Full panels before the first one aligned to BNP go one by one, so
    // that the wide tiles' panels never span two groups.
    const int64_t full = (c1 - c0) / NR, rem = (c1 - c0) % NR;
    const int64_t head = BNP > 1 ? std::min<int64_t>((BNP - (c0 / NR) % BNP) % BNP, full) : full;
    const int64_t wide_begin = c0 + head * NR;
    const int64_t wide_end = wide_begin + (full - head) / BNP * BNP * NR;
    const int64_t one_end = rem > 0 && rem <= W ? c1 - rem : c1;
    // A last panel of W + 1 to kCols valid columns: the narrow tiles.
    const bool narrow = NarrowTail<Cfg>::kNv > 0 && blocking.narrow_tail > 0 && rem > W &&
                        rem <= NarrowTail<Cfg>::kCols;
    const int64_t single_end = narrow ? c1 - rem : one_end;
    const int64_t k0 = kb * kc;
    t.k = k - k0 < kc ? k - k0 : kc;
    const bool first = kb == 0, last = kb == nkb - 1;
    // The next block's prefetch rides on the wide tiles, or on the single
    // panels where there are none.
    const bool wide = wide_end > wide_begin;
    if (wide_begin > c0)
      sweep<Cfg, 1, Cfg::NV, Cfg::MR1>(g, t, r0, r1, c0, wide_begin - c0, k0, part, c0, first, last,
                                       nullptr, 0);
    if (wide)
      sweep<Cfg, BNP, Cfg::NV, Cfg::MR>(g, t, r0, r1, wide_begin, wide_end - wide_begin, k0, part,
                                        c0, first, last, next, next_lines);
    const bool singles = single_end > wide_end;
    if (singles)
      sweep<Cfg, 1, Cfg::NV, Cfg::MR1>(g, t, r0, r1, wide_end, single_end - wide_end, k0, part, c0,
                                       first, last, wide ? nullptr : next, next_lines);
    if (narrow)
      sweep_narrow<Cfg>(g, t, r0, r1, single_end, rem, k0, part, c0, first, last,
                        wide || singles ? nullptr : next, next_lines);
    if (c1 > one_end)
      sweep<Cfg, 1, 1, Cfg::MRH>(g, t, r0, r1, one_end, c1 - one_end, k0, part, c0, first, last,
                                 nullptr, 0);
  }
  std::free(part);
}

}  // namespace
}  // namespace tfjs_infer::kernels
