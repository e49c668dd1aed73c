// The arguments of one register tile call of the packed-B GEMM
// (kernels/simd/gemm_simd.h) and the tile's prefetch helpers.
//
// Include only from kernels/simd/gemm_simd.h; all in an anonymous namespace.
#pragma once

#include <cstdint>

#include "kernels/kernel_args.h"

namespace tfjs_infer::kernels {
namespace {

struct TileArgs {
  int64_t k;
  const float* a;  // row 0 of the tile
  int64_t lda;
  const float* b;        // first packed panel of the tile
  int64_t panel_stride;  // from one panel of the tile to the next (NR)
  int64_t kstride;       // from one k row of a panel to the next (group width x NR)
  float* c;              // row 0, first column of the tile
  int64_t ldc;
  const float* bias;  // at the first column, or nullptr
  const float* res;   // row 0, first column, or nullptr
  int64_t ldr;
  int64_t cols;  // valid columns from the first one (<= NP * NR)
  const ActParams* act;
  // k-blocked path: partial sums of the tile (full vectors, row stride ldp).
  // acc_in: start from them instead of +0; acc_out: store the raw sums there
  // instead of running the epilogue. A float store and reload is exact, so
  // the blocked sums equal the unblocked ones bit for bit.
  const float* acc_in;
  float* acc_out;
  int64_t ldp;
  // Blocked path: the first row tile of a sweep reads its B block from beyond
  // L2 (the other tiles find it in L2); it prefetches `prefetch` floats ahead
  // of each k row (0: no prefetch).
  int64_t prefetch;
  // Implicit A (GemmArgs::a_rows): the tile's row pointers, the segment
  // offsets and length, and the tile's first k (a unused); nullptr: A at a.
  const float* const* a_rows;
  const int64_t* seg_off;
  int64_t seg_k;
  int64_t k0;
  // Blocked path: the next block of B to prefetch into L2 while this tile
  // runs, one 64-byte line per k row from pf_next, pf_next_lines of them.
  const char* pf_next;
  int64_t pf_next_lines;
  // GemmBlocking::next_prefetch 2: the next block's lines into L1 and L2
  // (prefetcht0) instead of L2 only (prefetcht1).
  bool pf_next_l1;
  // Blocked path (GemmBlocking::res_prefetch): the next row tile's C rows
  // and residual rows (pf_res nullptr: none) over this tile's columns,
  // pf_rows of them (row strides ldc and ldr), prefetched before this tile's
  // k loop so that its epilogue finds them in cache; pf_c nullptr: none.
  const float* pf_res;
  float* pf_c;
  int64_t pf_rows;
};

// One line of the next B block (TileArgs::pf_next): into L2, or into L1 too.
inline void prefetch_next_line(const char* line, bool l1) {
  if (l1) {
    __builtin_prefetch(line, 0, 3);
  } else {
    __builtin_prefetch(line, 0, 2);
  }
}

// Prefetches `rows` rows of `cols` floats of C (written) and of the residual
// (read, unless nullptr): the lines of the row tile after the current one.
inline void prefetch_epilogue_rows(const float* res, int64_t ldr, float* c, int64_t ldc,
                                   int64_t rows, int64_t cols) {
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < cols; j += 16) {
      if (res) __builtin_prefetch(res + i * ldr + j, 0, 3);
      __builtin_prefetch(c + i * ldc + j, 1, 3);
    }
  }
}

}  // namespace
}  // namespace tfjs_infer::kernels
