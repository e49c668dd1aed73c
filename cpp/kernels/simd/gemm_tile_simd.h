// The packed-B GEMM's register tiles over a traits class V (gemm_simd.h holds
// the packed layout, the determinism contract and the driver that sweeps
// these tiles over C): one MR x (NP panels x NV vectors) tile per call, its
// k loop (for any k, or unrolled for a fixed k), its epilogue, and the
// pickers of a tile function by row count, activation and k.
//
// Include only from one ISA's translation units (through gemm_simd.h); all in
// an anonymous namespace.
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

namespace tfjs_infer::kernels {
namespace {

// Epilogue modes: the cheap activations are applied in registers; the rest go
// through a small stack tile and the vectorized activation, so C is still
// written exactly once.
enum class Epi { kLinear, kRelu, kRelu6, kGeneral };

// The mode of a cheap activation (relu, relu6; anything else: linear) as a
// compile-time argument of f, for kernels whose ops take only those.
template <class F>
inline void with_simple_epi(ActKind kind, F&& f) {
  if (kind == ActKind::kRelu) return f(std::integral_constant<Epi, Epi::kRelu>{});
  if (kind == ActKind::kRelu6) return f(std::integral_constant<Epi, Epi::kRelu6>{});
  f(std::integral_constant<Epi, Epi::kLinear>{});
}

template <class V, Epi E>
inline typename V::F epi_simple(typename V::F x) {
  // Operand order keeps NaN (x86 max/min return the second operand on NaN).
  if constexpr (E == Epi::kRelu) return V::max(V::zero(), x);
  if constexpr (E == Epi::kRelu6) return V::min(V::set1(6.0f), V::max(V::zero(), x));
  return x;
}

// Stores a full MR x (NP NR) tile: acc (+ bias) (+ residual), then the
// activation (in registers, or through a stack tile for the general kinds).
template <class V, int NR, int MR, int NP, int NV, Epi E, bool kBias, bool kRes>
inline void tile_store(const typename V::F (&acc)[MR][NP * NV], float* c, int64_t ldc,
                       const float* bias, const float* res, int64_t ldr, const ActParams* act) {
  using F = typename V::F;
  constexpr int W = V::kW;
  constexpr int NC = NP * NV;
  F bv[NC];
  if constexpr (kBias) {
#pragma GCC unroll 16
    for (int p = 0; p < NP; ++p)
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) bv[p * NV + v] = V::loadu(bias + p * NR + v * W);
  }
  alignas(64) float buf[E == Epi::kGeneral ? MR * NP * NR : 1];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 16
    for (int p = 0; p < NP; ++p) {
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) {
        const int off = p * NR + v * W;
        F x = acc[i][p * NV + v];
        if constexpr (kBias) x = V::add(x, bv[p * NV + v]);
        if constexpr (kRes) x = V::add(x, V::loadu(res + i * ldr + off));
        x = epi_simple<V, E>(x);
        if constexpr (E == Epi::kGeneral) {
          V::storeu(buf + (i * NP + p) * NR + v * W, x);
        } else {
          V::storeu(c + i * ldc + off, x);
        }
      }
    }
  }
  if constexpr (E == Epi::kGeneral) {
    for (int i = 0; i < MR; ++i) act_apply<V>(*act, buf + i * NP * NR, c + i * ldc, NP * NR);
  }
}

// The k rows [t.k0, t.k0 + t.k) of an implicit-A tile (TileArgs::a_rows):
// segment by segment, each row's values read at its pointer plus the
// segment's offset; per k row the same loads and FMAs as gemm_tile's loop,
// so the same bits. Returns B past the last k row.
template <class V, int MR, int NP, int NV>
inline const float* implicit_k_rows(const TileArgs& t, typename V::F (&acc)[MR][NP * NV],
                                    const float* b) {
  using F = typename V::F;
  constexpr int W = V::kW;
  constexpr int NC = NP * NV;
  const int64_t ps = t.panel_stride;
  const int64_t ks = t.kstride;
  const int64_t pf = t.prefetch;
  const int64_t seg_k = t.seg_k;
  const int64_t k_end = t.k0 + t.k;
  const char* nx = t.pf_next;
  int64_t nl = t.pf_next_lines;
  const float* ar[MR];
  for (int64_t kk = t.k0; kk < k_end;) {
    const int64_t seg = kk / seg_k;
    const int64_t in_seg = kk - seg * seg_k;
    const int64_t len = std::min(seg_k - in_seg, k_end - kk);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) ar[i] = t.a_rows[i] + t.seg_off[seg] + in_seg;
    for (int64_t q = 0; q < len; ++q) {
      if (nl > 0) {
        prefetch_next_line(nx, t.pf_next_l1);
        nx += 64;
        --nl;
      }
      if (pf) {
#pragma GCC unroll 16
        for (int p = 0; p < NP; ++p)
#pragma GCC unroll 16
          for (int v = 0; v < NV; ++v) __builtin_prefetch(b + pf + p * ps + v * W, 0, 3);
      }
      F bv[NC];
#pragma GCC unroll 16
      for (int p = 0; p < NP; ++p)
#pragma GCC unroll 16
        for (int v = 0; v < NV; ++v) bv[p * NV + v] = V::loadu(b + p * ps + v * W);
#pragma GCC unroll 16
      for (int i = 0; i < MR; ++i) {
        const F av = V::set1(ar[i][q]);
#pragma GCC unroll 16
        for (int j = 0; j < NC; ++j) acc[i][j] = V::fmadd(av, bv[j], acc[i][j]);
      }
      b += ks;
    }
    kk += len;
  }
  return b;
}

// KF > 0 (GemmBlocking::fixed_k; see pick_fixed_k): A's rows are KF
// contiguous floats (lda == t.k == KF, plain A, no partial sums), so the k
// loop is unrolled with every A value at a constant offset from one pointer;
// the same loads, FMAs and order as the loop for any k.
template <class V, int NR, int MR, int NP, int NV, Epi E, int KF = 0>
#if defined(__GNUC__)
__attribute__((noinline))
#endif
void gemm_tile(const TileArgs& t) {
  using F = typename V::F;
  constexpr int W = V::kW;
  constexpr int NC = NP * NV;  // accumulator vectors per row
  static_assert(NV * W <= NR, "tile wider than a panel");

  F acc[MR][NC];
  if (t.acc_in) {
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 16
      for (int p = 0; p < NP; ++p)
#pragma GCC unroll 16
        for (int v = 0; v < NV; ++v)
          acc[i][p * NV + v] = V::loadu(t.acc_in + i * t.ldp + p * NR + v * W);
  } else {
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 16
      for (int j = 0; j < NC; ++j) acc[i][j] = V::zero();
  }

  if (t.pf_c) prefetch_epilogue_rows(t.pf_res, t.ldr, t.pf_c, t.ldc, t.pf_rows, t.cols);
  const float* a = t.a;
  const float* b = t.b;
  const int64_t lda = t.lda;
  const int64_t ps = t.panel_stride;
  const int64_t ks = t.kstride;
  const int64_t pf = t.prefetch;
  // Implicit A: its own k loop; then this one runs no row.
  const int64_t k_plain = t.a_rows ? 0 : t.k;
  if (t.a_rows) b = implicit_k_rows<V, MR, NP, NV>(t, acc, b);
  const char* nx = t.pf_next;
  int64_t nl = t.a_rows ? 0 : t.pf_next_lines;
  if constexpr (KF > 0) {
#pragma GCC unroll 32
    for (int kk = 0; kk < KF; ++kk) {
      if (nl > 0) {
        prefetch_next_line(nx, t.pf_next_l1);
        nx += 64;
        --nl;
      }
      if (pf) {
#pragma GCC unroll 16
        for (int p = 0; p < NP; ++p)
#pragma GCC unroll 16
          for (int v = 0; v < NV; ++v) __builtin_prefetch(b + pf + p * ps + v * W, 0, 3);
      }
      if constexpr (MR > 4 && (W >= 16 || NR >= 32))
        __builtin_prefetch(a + MR * KF + kk * MR, 0, 3);
      F bv[NC];
#pragma GCC unroll 16
      for (int p = 0; p < NP; ++p)
#pragma GCC unroll 16
        for (int v = 0; v < NV; ++v) bv[p * NV + v] = V::loadu(b + p * ps + v * W);
#pragma GCC unroll 16
      for (int i = 0; i < MR; ++i) {
        const F av = V::set1(a[i * KF + kk]);
#pragma GCC unroll 16
        for (int j = 0; j < NC; ++j) acc[i][j] = V::fmadd(av, bv[j], acc[i][j]);
      }
      b += ks;
    }
  }
  // One k row of the plain loop; pf_on (a std::bool_constant): with the
  // prefetch of B t.prefetch floats ahead.
  auto k_row = [&](int64_t kk, auto pf_on) {
    // Small-m tiles (the batch-1 GEMV) are bound by the bandwidth of B:
    // prefetching the k row GemmBlocking::gemv_prefetch_rows ahead (t.prefetch
    // floats) keeps the stream full (4 rows, MLP batch 1 in bench/compare.py
    // on Zen 5: 27.5 -> 24 us, medians of 3 runs). A prefetch past the end of
    // B is harmless.
    if constexpr (decltype(pf_on)::value) {
#pragma GCC unroll 16
      for (int p = 0; p < NP; ++p)
#pragma GCC unroll 16
        for (int v = 0; v < NV; ++v) __builtin_prefetch(b + pf + p * ps + v * W, 0, 3);
    }
    // AVX-512 row tiles: the next row tile's A (MR rows below, contiguous
    // when lda == k), MR floats per k row, so it is in L1 when that tile
    // starts. Thin GEMMs (n = 32, 64) read each A row for one or two tiles
    // only and stalled on it: bench/gemm_where.py on an Emerald Rapids Xeon,
    // time without the prefetch 1.10x at 3136x144x32 and 12544x147x64, 1.05x
    // at 12544x32x64; 0.97-0.98x at 49x4608x512 and 32x1024x1024, where wide
    // n reuses A from L1 (a branch per k row to skip it there lost more).
    // AVX2 measured no gain on the thin shapes and lost 6-14 % on
    // 256x784x512 and 49x4608x512, so it stays without. The AVX-512 table's
    // narrow-tail tiles (ymm vectors on its 32-float panels) read each A row
    // once too and take it: without, 8 x 24 tiles ran at 2/3 of their FMA
    // rate (bench/narrow_tail.py, EPYC Genoa: no faster than two zmm). A
    // prefetch past A's end is harmless.
    if constexpr (MR > 4 && (W >= 16 || NR >= 32)) __builtin_prefetch(a + MR * lda + kk * MR, 0, 3);
    F bv[NC];
#pragma GCC unroll 16
    for (int p = 0; p < NP; ++p)
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) bv[p * NV + v] = V::loadu(b + p * ps + v * W);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const F av = V::set1(a[i * lda + kk]);
#pragma GCC unroll 16
      for (int j = 0; j < NC; ++j) acc[i][j] = V::fmadd(av, bv[j], acc[i][j]);
    }
    b += ks;
  };
  // The k loop in phases, so that the steady state carries no test per k
  // row: first the rows that also prefetch a line of the next B block into
  // L2 (TileArgs::pf_next: its memory traffic spread over this block's tiles
  // instead of stalling its first one), then the rest with or without the B
  // prefetch, unrolled by 2. Every phase runs the same FMAs in the same k
  // order, so the same bits. The single loop with both tests in it (and the
  // row pointers GCC then spilled) left integer and branch uops beside the
  // FMAs, which on Intel share ports 0 and 5 with the 512-bit FMAs. On a Xeon
  // with AMX (family 6 model 167 as its KVM guest reports it), 1 thread,
  // thread CPU time: the AVX-512 tiles alone on L1-resident operands (k = 64,
  // best of 7, two builds taking turns) 6 x 64 171-173 -> 176-182 GFLOP/s,
  // 14 x 32 160-165 -> 166-171, 7 x 64 unchanged (165-170, its spilled
  // accumulator bounds it); bench/gemm.py --isa avx512 --tile-rows 6 7, the
  // two builds one after the other (load 3-5), 6-row tiles: 256x784x512
  // 150 -> 161, 1024^3 144 -> 151, 196x2304x256 139 -> 150, 49x4608x512 131
  // -> 131. Unrolled by 4: 0.94-0.97x the speed of 2 on the tile alone.
  const int64_t k_end = KF > 0 ? 0 : k_plain;
  const int64_t k_next = std::min(nl, k_end);
  int64_t kk = 0;
  for (; kk < k_next; ++kk) {
    prefetch_next_line(nx + kk * 64, t.pf_next_l1);
    if (pf) {
      k_row(kk, std::true_type{});
    } else {
      k_row(kk, std::false_type{});
    }
  }
  if (pf) {
    for (; kk < k_end; ++kk) k_row(kk, std::true_type{});
  } else {
#pragma GCC unroll 2
    for (; kk < k_end; ++kk) k_row(kk, std::false_type{});
  }
  if (t.acc_out) {
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 16
      for (int p = 0; p < NP; ++p)
#pragma GCC unroll 16
        for (int v = 0; v < NV; ++v)
          V::storeu(t.acc_out + i * t.ldp + p * NR + v * W, acc[i][p * NV + v]);
    return;
  }

  // Epilogue. TileArgs fields are copied to locals first: C stores could
  // alias them as far as the compiler knows, and reloading them per vector
  // costs more than the stores on small-k tiles.
  const int64_t cols = t.cols, ldc = t.ldc, ldr = t.ldr;
  float* const c = t.c;
  const float* const bias = t.bias;
  const float* const res = t.res;
  if (cols == NP * NR) {
    // Full tile: straight-line code per bias / residual combination.
    if (bias) {
      if (res) {
        tile_store<V, NR, MR, NP, NV, E, true, true>(acc, c, ldc, bias, res, ldr, t.act);
      } else {
        tile_store<V, NR, MR, NP, NV, E, true, false>(acc, c, ldc, bias, res, ldr, t.act);
      }
    } else if (res) {
      tile_store<V, NR, MR, NP, NV, E, false, true>(acc, c, ldc, bias, res, ldr, t.act);
    } else {
      tile_store<V, NR, MR, NP, NV, E, false, false>(acc, c, ldc, bias, res, ldr, t.act);
    }
    return;
  }
  // Right edge: masked loads and stores past the last valid column.
  alignas(64) float buf[E == Epi::kGeneral ? MR * NP * NR : 1];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 16
    for (int p = 0; p < NP; ++p) {
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) {
        const int64_t off = p * NR + v * W;
        const int64_t left = cols - off;
        if (left <= 0) continue;
        const bool full = left >= W;
        F x = acc[i][p * NV + v];
        if (bias) x = V::add(x, full ? V::loadu(bias + off) : V::load_n(bias + off, left));
        if (res) {
          const float* r = res + i * ldr + off;
          x = V::add(x, full ? V::loadu(r) : V::load_n(r, left));
        }
        x = epi_simple<V, E>(x);
        if constexpr (E == Epi::kGeneral) {
          V::storeu(buf + (i * NP + p) * NR + v * W, x);
        } else if (full) {
          V::storeu(c + i * ldc + off, x);
        } else {
          V::store_n(c + i * ldc + off, x, left);
        }
      }
    }
  }
  if constexpr (E == Epi::kGeneral) {
    for (int i = 0; i < MR; ++i) act_apply<V>(*t.act, buf + i * NP * NR, c + i * ldc, cols);
  }
}

using TileFn = void (*)(const TileArgs&);

template <class V, int NR, int MR, int NP, int NV>
TileFn pick_epi(ActKind kind) {
  switch (kind) {
    case ActKind::kLinear:
      return &gemm_tile<V, NR, MR, NP, NV, Epi::kLinear>;
    case ActKind::kRelu:
      return &gemm_tile<V, NR, MR, NP, NV, Epi::kRelu>;
    case ActKind::kRelu6:
      return &gemm_tile<V, NR, MR, NP, NV, Epi::kRelu6>;
    default:
      return &gemm_tile<V, NR, MR, NP, NV, Epi::kGeneral>;
  }
}

// Tile function for mr rows (R..RMAX), NP panels, NV vectors per panel.
template <class V, int NR, int NP, int NV, int RMAX, int R = 1>
TileFn pick_tile(int mr, ActKind kind) {
  if constexpr (R > RMAX) {
    return nullptr;
  } else {
    if (mr == R) return pick_epi<V, NR, R, NP, NV>(kind);
    return pick_tile<V, NR, NP, NV, RMAX, R + 1>(mr, kind);
  }
}

// The fixed-k tile (gemm_tile KF) for mr rows of an R-row sweep with k = kf
// (16, 24 or 32), or nullptr: only full and one-short row tiles, the linear
// and relu6 epilogues (MobileNetV2's projections and expands), and Cfgs that
// ask for it (Cfg::kFixedK), to bound the code (each tile is unrolled: these
// 36 per Cfg add about 0.6 MB to the library).
template <class Cfg, int NP, int NV, int R, int KF>
TileFn pick_fixed_k_kf(int mr, ActKind kind) {
  using V = typename Cfg::V;
  constexpr int NR = Cfg::NR;
  if constexpr (R < 2) {
    return nullptr;
  } else {
    const int row = mr == R ? 0 : mr == R - 1 ? 1 : -1;
    if (row < 0) return nullptr;
    switch (kind) {
      case ActKind::kLinear:
        return row == 0 ? &gemm_tile<V, NR, R, NP, NV, Epi::kLinear, KF>
                        : &gemm_tile<V, NR, R - 1, NP, NV, Epi::kLinear, KF>;
      case ActKind::kRelu6:
        return row == 0 ? &gemm_tile<V, NR, R, NP, NV, Epi::kRelu6, KF>
                        : &gemm_tile<V, NR, R - 1, NP, NV, Epi::kRelu6, KF>;
      default:
        return nullptr;
    }
  }
}

// Whether Cfg compiles the fixed-k tiles (Cfg::kFixedK; none without it).
template <class Cfg, class = void>
struct FixedK {
  static constexpr bool kOn = false;
};
template <class Cfg>
struct FixedK<Cfg, std::void_t<decltype(Cfg::kFixedK)>> {
  static constexpr bool kOn = Cfg::kFixedK;
};

template <class Cfg, int NP, int NV, int R>
TileFn pick_fixed_k(const GemmArgs& g, int64_t k0, int64_t k, int mr) {
  if constexpr (!FixedK<Cfg>::kOn) {
    return nullptr;
  } else {
    if (gemm_blocking().fixed_k <= 0 || g.a_rows || k0 != 0 || k != g.k || g.lda != g.k)
      return nullptr;
    switch (g.k) {
      case 16:
        return pick_fixed_k_kf<Cfg, NP, NV, R, 16>(mr, g.act.kind);
      case 24:
        return pick_fixed_k_kf<Cfg, NP, NV, R, 24>(mr, g.act.kind);
      case 32:
        return pick_fixed_k_kf<Cfg, NP, NV, R, 32>(mr, g.act.kind);
      default:
        return nullptr;
    }
  }
}

}  // namespace
}  // namespace tfjs_infer::kernels
