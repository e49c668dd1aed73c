#include "ops/gemm_driver.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/env_switch.h"
#include "core/threading.h"
#include "kernels/gemm_blocking.h"
#include "kernels/lowp.h"

namespace tfjs_infer {

void PackedMatrix::pack(const KernelTable& k, const float* b, int64_t rows, int64_t cols,
                        const double* col_scale) {
  kind_ = PackKind::kF32;
  rows_ = rows;
  cols_ = cols;
  const size_t bytes = checked_mul(k.gemm_packed_b_size(rows, cols), sizeof(float));
  float* dst = reinterpret_cast<float*>(place(bytes, gemm_blocking().f32_huge_page_bytes));
  k.gemm_pack_b(b, rows, cols, col_scale, dst);
}

uint8_t* PackedMatrix::place(size_t bytes, int64_t huge_from) {
  // Weights on huge pages where gemm_blocking() says so (kernels/cpu_params.cpp):
  // the same bytes either way.
  heap_.reset(0);
  huge_.reset(0);
  if (huge_from > 0 && bytes >= static_cast<size_t>(huge_from)) {
    huge_.reset(bytes);
    return huge_.data();
  }
  heap_.reset(bytes);
  return heap_.data();
}

void PackedMatrix::pack_lowp(const float* b, int64_t rows, int64_t cols, Precision precision) {
  rows_ = rows;
  cols_ = cols;
  if (precision == Precision::kInt8) {
    kind_ = PackKind::kInt8;
    const size_t bytes = lowp_int8_packed_bytes(rows, cols);
    lowp_int8_pack(b, rows, cols, place(bytes, gemm_blocking().int8_huge_page_bytes));
  } else {
    kind_ = PackKind::kBf16;
    const size_t bytes = lowp_bf16_packed_bytes(rows, cols);
    lowp_bf16_pack(b, rows, cols, place(bytes, gemm_blocking().bf16_huge_page_bytes));
  }
}

void PackedMatrix::pack(const KernelTable& k, const WeightTensor& w, int64_t rows, int64_t w_cols,
                        int64_t col0, int64_t cols, Precision precision) {
  const float* src = w.f32.data();
  std::vector<float> block;
  if (precision != Precision::kFp32) {
    // The values first (with a folded BatchNorm's scale: float(w * s), the
    // fold's arithmetic), then this group's columns, then quantized.
    std::vector<float> all(w.f32.size());
    w.copy_values(all.data());
    block.resize(static_cast<size_t>(rows * cols));
    for (int64_t r = 0; r < rows; ++r)
      std::memcpy(&block[static_cast<size_t>(r * cols)], all.data() + r * w_cols + col0,
                  static_cast<size_t>(cols) * sizeof(float));
    pack_lowp(block.data(), rows, cols, precision);
    return;
  }
  if (col0 != 0 || cols != w_cols) {  // a column slice (a conv group): gather it
    block.resize(static_cast<size_t>(rows * cols));
    for (int64_t r = 0; r < rows; ++r)
      std::memcpy(&block[static_cast<size_t>(r * cols)], src + r * w_cols + col0,
                  static_cast<size_t>(cols) * sizeof(float));
    src = block.data();
  }
  pack(k, src, rows, cols, w.scale.empty() ? nullptr : w.scale.data() + col0);
}

GemmCall GemmCall::rows(int64_t r0, int64_t r1) const {
  GemmCall part = *this;
  part.m = r1 - r0;
  part.a = a + r0 * lda;
  part.c = c + r0 * ldc;
  if (a_rows) part.a_rows = a_rows + r0;
  if (q_rows) part.q_rows = q_rows + r0;
  if (a_bf16) part.a_bf16 = a_bf16 + r0 * lda;
  if (ep.residual) part.ep.residual = ep.residual + r0 * ep.ldr;
  return part;
}

void gemm_run(const KernelTable& k, const PackedMatrix& b, const GemmCall& call) {
  const int64_t n_end = call.n_end < 0 ? b.cols() : call.n_end;
  if (call.m <= 0 || n_end <= call.n_begin) return;
  GemmArgs g;
  g.m = call.m;
  g.n = b.cols();
  g.k = b.rows();
  g.a = call.a;
  g.lda = call.lda;
  g.packed_b = b.f32();
  g.c = call.c;
  g.ldc = call.ldc;
  g.n_begin = call.n_begin;
  g.n_end = n_end;
  g.bias = call.ep.bias;
  g.residual = call.ep.residual;
  g.ldr = call.ep.ldr;
  g.act = call.ep.act;
  g.a_rows = call.a_rows;
  g.seg_off = call.seg_off;
  g.seg_k = call.seg_k;
  g.q_rows = call.q_rows;
  g.q_scale = call.q_scale;
  g.q_zp = call.q_zp;
  g.q_gather = call.q_gather;
  g.a_bf16 = call.a_bf16;
  switch (b.kind()) {
    case PackKind::kF32:
      k.gemm_f32(g);
      return;
    case PackKind::kBf16:
      k.gemm_bf16(g, b.lowp());
      return;
    case PackKind::kInt8:
      k.gemm_int8(g, b.lowp());
      return;
  }
}

namespace {

// The split's overrides (TFJS_INFER_GEMM_SPLIT, TFJS_INFER_GEMM_TASKS), read once.
struct SplitOverride {
  int kind = 0;              // 0: the rule; 1: rows; 2: columns
  int tasks_per_thread = 0;  // 0: the rule's
};

const SplitOverride& split_override() {
  static const SplitOverride o = [] {
    SplitOverride r;
    if (env_is("TFJS_INFER_GEMM_SPLIT", "rows")) r.kind = 1;
    if (env_is("TFJS_INFER_GEMM_SPLIT", "cols")) r.kind = 2;
    if (const char* s = std::getenv("TFJS_INFER_GEMM_TASKS"))
      r.tasks_per_thread = static_cast<int>(std::clamp<long>(std::strtol(s, nullptr, 10), 0, 64));
    return r;
  }();
  return o;
}

// Rows below which a row task's tiles and its pass over B cost more than the
// share it takes.
constexpr int64_t kMinTaskRows = 32;
// Tasks per thread: a thread that arrives late or is descheduled (a shared
// host) leaves the rest to the others instead of holding half the work.
constexpr int64_t kTasksPerThread = 4;

}  // namespace

GemmSplit plan_gemm_split(const KernelTable& k, int64_t m, int64_t n_begin, int64_t n_end,
                          int threads, int tasks_per_thread) {
  GemmSplit s;
  s.m = m;
  s.n_begin = n_begin;
  s.n_end = n_end;
  s.nr = k.gemm_nr;
  if (threads <= 1 || m <= 0 || n_end <= n_begin) return s;
  const SplitOverride& o = split_override();
  // Fewer rows than a row task takes (batch-1 layers): weight streaming
  // bound, one share of the columns per thread.
  const int64_t per_thread = tasks_per_thread > 0     ? tasks_per_thread
                             : o.tasks_per_thread > 0 ? o.tasks_per_thread
                             : m < kMinTaskRows       ? 1
                                                      : kTasksPerThread;
  const int64_t panels = (n_end - n_begin + s.nr - 1) / s.nr;
  const int64_t n = n_end - n_begin;
  // Each row task streams all of B, each column task all of A: split the
  // side that is smaller to read again, and columns whenever the rows are too
  // few to share (the batch-1 layers).
  bool by_rows = panels < threads || (m >= n && m >= kMinTaskRows * threads);
  if (o.kind == 1 && m >= threads) by_rows = true;
  if (o.kind == 2 && panels >= threads) by_rows = false;
  s.by_rows = by_rows;
  if (by_rows) {
    s.tasks = std::clamp<int64_t>(m / kMinTaskRows, threads, per_thread * threads);
    s.tasks = std::min(s.tasks, m);
  } else {
    s.tasks = std::clamp<int64_t>(panels / 2, threads, per_thread * threads);
    s.tasks = std::min(s.tasks, panels);
  }
  if (s.tasks <= 1) s.by_rows = true;
  return s;
}

GemmCall GemmSplit::part(const GemmCall& call, int64_t t) const {
  if (by_rows) return call.rows(m * t / tasks, m * (t + 1) / tasks);
  const int64_t panels = (n_end - n_begin + nr - 1) / nr;
  GemmCall p = call;
  p.n_begin = n_begin + panels * t / tasks * nr;
  p.n_end = std::min(n_end, n_begin + panels * (t + 1) / tasks * nr);
  return p;
}

void gemm_run_parallel(const KernelTable& k, const PackedMatrix& b, const GemmCall& call,
                       int threads, int tasks_per_thread) {
  const int64_t n_end = call.n_end < 0 ? b.cols() : call.n_end;
  const GemmSplit split =
      plan_gemm_split(k, call.m, call.n_begin, n_end, threads, tasks_per_thread);
  if (split.tasks <= 1) {
    gemm_run(k, b, call);
    return;
  }
  parallel_for_owned(split.tasks, threads, [&](int64_t t) { gemm_run(k, b, split.part(call, t)); });
}

}  // namespace tfjs_infer
