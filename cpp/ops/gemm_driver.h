// The one GEMM driver every op with weights runs its products through (dense,
// conv, conv_chain, transposed conv, the recurrent cells).
//
// A PackedMatrix is B prepared once at load; a GemmCall says which rows of A
// meet it and what the epilogue (bias, residual, activation) adds. gemm_run
// is the single point where the kind of the packed weights is dispatched on:
// a lower precision or a device copy of B plugs in here, and no op changes.
#pragma once

#include <cstdint>

#include "core/graph.h"
#include "core/huge_pages.h"
#include "core/tensor.h"
#include "kernels/kernels.h"
#include "ops/precision.h"

namespace tfjs_infer {

// How a PackedMatrix holds B.
enum class PackKind : int32_t {
  kF32 = 0,  // the table's fp32 panel layout (gemm_pack_b)
  kBf16,     // bfloat16 k pairs for the table's gemm_bf16 (kernels/lowp.h)
  kInt8,     // int8 k quads + column scales and sums for gemm_int8 (kernels/lowp.h)
};

// A weight matrix B (rows x cols) packed once for the products of one table.
class PackedMatrix {
 public:
  // Packs the row-major matrix b. col_scale (or nullptr): a folded BatchNorm's
  // per-column scale, packed as float(b * col_scale[col]).
  void pack(const KernelTable& k, const float* b, int64_t rows, int64_t cols,
            const double* col_scale = nullptr);
  // Packs columns [col0, col0 + cols) of w viewed as (rows, w_cols) (a conv
  // group), applying w's pending BatchNorm scale when it has one; for the
  // bf16 / int8 kernels when `precision` says so (op_precision checked the
  // table has them).
  void pack(const KernelTable& k, const WeightTensor& w, int64_t rows, int64_t w_cols, int64_t col0,
            int64_t cols, Precision precision = Precision::kFp32);

  PackKind kind() const { return kind_; }
  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  const float* f32() const { return reinterpret_cast<const float*>(data()); }
  const void* lowp() const { return data(); }

 private:
  void pack_lowp(const float* b, int64_t rows, int64_t cols, Precision precision);
  // `bytes` zero-filled bytes for the packed weights, replacing the previous
  // ones: in core/huge_pages.h's regions from `huge_from` bytes (> 0; the
  // GemmBlocking field of the kind packed), a Buffer otherwise.
  uint8_t* place(size_t bytes, int64_t huge_from);
  const uint8_t* data() const { return huge_.data() ? huge_.data() : heap_.data(); }

  PackKind kind_ = PackKind::kF32;
  int64_t rows_ = 0, cols_ = 0;
  Buffer<uint8_t> heap_;  // the packed weights (floats, bf16 pairs or int8), or
  HugeBlock huge_;        // where place() put them on huge pages instead
};

// What is added to A . B before it is stored, in this order: bias, residual,
// activation (element-wise kinds; softmax rows are the op's, after).
struct GemmEpilogue {
  const float* bias = nullptr;      // [cols of B] or nullptr
  const float* residual = nullptr;  // [m, ldr] or nullptr
  int64_t ldr = 0;
  ActParams act;
};

// C[0:m, n_begin:n_end] = epilogue(A[0:m] . B[:, n_begin:n_end]).
// n_end < 0 means all of B's columns; n_begin must sit on a panel border
// (a multiple of the table's gemm_nr).
struct GemmCall {
  int64_t m = 0;
  const float* a = nullptr;
  int64_t lda = 0;
  float* c = nullptr;
  int64_t ldc = 0;
  int64_t n_begin = 0, n_end = -1;
  GemmEpilogue ep;
  // Implicit A (fp32 B only; GemmArgs::a_rows): row i read through
  // a_rows[i] and the segment offsets instead of a + i lda.
  const float* const* a_rows = nullptr;
  const int64_t* seg_off = nullptr;
  int64_t seg_k = 0;
  // Quantized A (int8 B only; GemmArgs::q_rows): u8 rows of one sample
  // through q_rows and the segment offsets, with its scale and zero point.
  const uint8_t* const* q_rows = nullptr;
  float q_scale = 1.0f;
  int32_t q_zp = 0;
  bool q_gather = false;  // GemmArgs::q_gather
  // bf16 A rounded already (bf16 B only; GemmArgs::a_bf16): rows lda values
  // apart, a unused.
  const uint16_t* a_bf16 = nullptr;

  // The same call over its rows [r0, r1) (A, C and the residual offset).
  GemmCall rows(int64_t r0, int64_t r1) const;
};

// How a call's output is cut into tasks for several threads: blocks of rows
// or groups of column panels. Neither changes any element's reduction order,
// so every split gives the same bits.
struct GemmSplit {
  bool by_rows = true;
  int64_t tasks = 1;
  int64_t m = 0;                   // the call's rows
  int64_t n_begin = 0, n_end = 0;  // its columns
  int64_t nr = 1;                  // the table's panel width

  // Task t's part of `call` (the call this split was planned for).
  GemmCall part(const GemmCall& call, int64_t t) const;
};

// The split of a call of m rows and columns [n_begin, n_end) over `threads`
// threads (see gemm_driver.cpp for the rule and its figures).
// TFJS_INFER_GEMM_SPLIT=rows|cols forces the kind and TFJS_INFER_GEMM_TASKS=N
// the tasks per thread (read once per process; for A/B measurements).
// tasks_per_thread > 0 overrides the rule's tasks per thread.
GemmSplit plan_gemm_split(const KernelTable& k, int64_t m, int64_t n_begin, int64_t n_end,
                          int threads, int tasks_per_thread = 0);

// Runs one call on the calling thread; nothing when it is empty.
void gemm_run(const KernelTable& k, const PackedMatrix& b, const GemmCall& call);

// Runs one call on up to `threads` threads, splitting rows when there are
// many and column panels otherwise (the batch-1 case); neither changes any
// element's reduction order.
void gemm_run_parallel(const KernelTable& k, const PackedMatrix& b, const GemmCall& call,
                       int threads, int tasks_per_thread = 0);

}  // namespace tfjs_infer
