#include "ops/gemm_driver.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/threading.h"
#include "kernels/lowp.h"

namespace tfjs_infer {

void PackedMatrix::pack(const KernelTable& k, const float* b, int64_t rows, int64_t cols,
                        const double* col_scale) {
  kind_ = PackKind::kF32;
  rows_ = rows;
  cols_ = cols;
  f32_.reset(k.gemm_packed_b_size(rows, cols));
  k.gemm_pack_b(b, rows, cols, col_scale, f32_.data());
}

void PackedMatrix::pack_lowp(const float* b, int64_t rows, int64_t cols, Precision precision) {
  rows_ = rows;
  cols_ = cols;
  f32_.reset(0);
  if (precision == Precision::kInt8) {
    kind_ = PackKind::kInt8;
    lowp_.reset(lowp_int8_packed_bytes(rows, cols));
    lowp_int8_pack(b, rows, cols, lowp_.data());
  } else {
    kind_ = PackKind::kBf16;
    lowp_.reset(lowp_bf16_packed_bytes(rows, cols));
    lowp_bf16_pack(b, rows, cols, lowp_.data());
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

void gemm_run_parallel(const KernelTable& k, const PackedMatrix& b, const GemmCall& call,
                       int threads) {
  const int64_t nr = k.gemm_nr;
  const int64_t n_begin = call.n_begin;
  const int64_t n_end = call.n_end < 0 ? b.cols() : call.n_end;
  const int64_t panels = (n_end - n_begin + nr - 1) / nr;
  const int64_t m = call.m;
  if (threads <= 1 || m <= 0) {
    gemm_run(k, b, call);
    return;
  }
  // Weight-heavy (fewer rows than columns, e.g. 7x7 maps at batch 1): each
  // thread streams only its share of B. Otherwise rows, when there are enough.
  const int64_t n = n_end - n_begin;
  const bool split_rows = panels < threads || (m >= n && m >= 4 * threads);
  // A few tasks per thread: the pool hands them out as threads arrive, so a
  // late worker (a busy core) costs little. Row tasks keep >= 64 rows so B is
  // not streamed too often; column tasks are whole panel groups.
  const int64_t tasks = split_rows ? std::max<int64_t>(1, std::min<int64_t>(4 * threads, m / 64))
                                   : std::min<int64_t>(panels, 2 * threads);
  parallel_for(tasks, threads, [&](int64_t t) {
    if (split_rows) {
      gemm_run(k, b, call.rows(m * t / tasks, m * (t + 1) / tasks));
    } else {
      GemmCall part = call;
      part.n_begin = n_begin + panels * t / tasks * nr;
      part.n_end = std::min(n_end, n_begin + panels * (t + 1) / tasks * nr);
      gemm_run(k, b, part);
    }
  });
}

}  // namespace tfjs_infer
