// Op family 'recurrent': "rnn" (one SimpleRNN, LSTM or GRU cell run over a
// sequence), plus the sequence helpers in sequence_ops.cpp (masks, masked
// mean, time folding for TimeDistributed).
//
// "rnn" inputs: x (N, T, F) float32; then the mask (N, T) float32 (0 = skip
// the step) when attr has_mask = 1; then, optionally, the initial states
// (N, units) each: [h] for simple_rnn and gru, [h, c] for lstm.
// Outputs: y ((N, T, units) with return_sequences, else (N, units)); then the
// final states when return_state = 1.
//
// Attributes:
//   cell                 "simple_rnn" | "lstm" | "gru"
//   units                state width u
//   activation, act_*    the cell activation (element-wise kinds only)
//   recurrent_activation, ract_*   the gate activation (lstm, gru)
//   reset_after          gru: 1 = Keras reset_after=True (bias (2, 3u))
//   go_backwards         process t = T-1 .. 0
//   return_sequences, return_state
//   reverse_output       with return_sequences: write processing step s at
//                        position T-1-s instead of s (Bidirectional's backward
//                        copy, chained stacked cells that go backwards)
//   mask_output          what a masked step outputs: "state" (TF.js: the
//                        carried h), "previous" (Keras: the previous output,
//                        zeros before the first unmasked step), "zero" (Keras
//                        zero_output_for_mask)
// Weights: kernel (F, G u), recurrent_kernel (u, G u), bias (G u) or, for
// gru with reset_after, (2, 3u): row 0 input bias, row 1 recurrent bias.
// G = 1, 4, 3 for simple_rnn, lstm, gru; gate blocks i f c o (lstm), z r h (gru).
//
// Work plan: the input projection x W + b for all steps of a row block is one
// packed GEMM (in chunks of steps, to bound scratch); then each step is one
// small GEMM h U (+ the projection as the GEMM's residual) and one fused gate
// kernel. LSTM and SimpleRNN cells with few input features (4 F <= units, see
// fuse_step) instead run one product per step, [x_t | h] . [W; U] + b, over
// a row buffer that holds x_t beside the state h: no projection pass and no
// projection to read back per step. Batch rows are split across threads in blocks that run all
// steps on their own: no barrier per step, and no reduction is ever split, so a row's result does
// not depend on the batch size or the thread count. A fused cell's single row (batch 1) instead
// runs each step as two parts by units, which two threads share step by step (UnitParts);
// on one thread it projects x_t W for every step first and continues each
// step's sums over h alone (run_row_split: the fused product's bits).
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "core/env_switch.h"
#include "core/threading.h"
#include "ops/activation.h"
#include "ops/gemm_driver.h"
#include "ops/recurrent_parts.h"
#include "ops/registry.h"
#include "ops/shape_rules.h"

namespace tfjs_infer {

void register_sequence_ops(OpRegistry& r);   // sequence_ops.cpp
void register_conv_lstm_ops(OpRegistry& r);  // conv_lstm.cpp

namespace {

enum class Cell { kSimple, kLstm, kGru };
enum class MaskOutput { kState, kPrevious, kZero };

// Upper bound on the projection buffer; longer sequences are projected in
// chunks of steps.
constexpr int64_t kProjectionFloats = int64_t{4} << 20;

// Rows below which a row block's per-step GEMMs (m = its rows) lose more to
// short tiles than a finer split gains in balance. The bench LSTM (32
// features, 128 units) on the AMD EPYC Zen 4 (family 25 model 17), 1 thread,
// thread CPU time a row by batch, interleaved: 2 rows 101 us, 4 rows 87.0, 8
// rows 87.3, 16 rows 89.5, 32 rows 89.3 - no loss down to 4. At batch 32 on 2
// threads, 8 tasks of 4 rows instead of 2 of 16 (a thread descheduled
// mid-task holds a quarter of the rows it did): 0.91-0.92x the wall time at
// load 6 (bench/env_ab.py --var TFJS_INFER_RNN_TASK_ROWS --values 16,8,4
// --models lstm --threads 2 --batch 32 --rounds 12; 8 rows 0.99x). Other CPUs
// unmeasured (was 16, unmeasured). TFJS_INFER_RNN_TASK_ROWS=N sets it (read
// at load, for A/B).
constexpr int64_t kMinTaskRows = 4;

int64_t min_task_rows() {
  const char* s = std::getenv("TFJS_INFER_RNN_TASK_ROWS");
  const long v = s ? std::strtol(s, nullptr, 10) : 0;
  return v > 0 ? v : kMinTaskRows;
}

int64_t align16(int64_t n) { return (n + 15) / 16 * 16; }

// Whether an LSTM / SimpleRNN cell runs its step as one product [x_t | h] .
// [W; U] + b (chosen at load, never by the batch, so a row's bits do not
// depend on it). At batch 32 and 256 the fused step took 0.87-0.97x the time
// of the projection pass plus per-step products (which read the projection
// back from beyond L2 each step) for F = 32 to 256 with 128 units; at batch
// 1 the one-row product with F more rows cost 1.03x at F = 32, 1.20x at 64,
// 1.40x at 128 (bench/rnn_fused_ab.py, 1 thread): fused only where x adds at
// most a quarter to the recurrent product.
// TFJS_INFER_RNN_FUSED=0 / 1 forces it off / on (read at load, for A/B).
bool fuse_step(bool fusable_cell, int64_t features, int64_t units) {
  if (!fusable_cell) return false;
  if (env_is("TFJS_INFER_RNN_FUSED", "0")) return false;
  if (env_is("TFJS_INFER_RNN_FUSED", "1")) return true;
  return 4 * features <= units;
}

// A recurrent kernel (u rows x cols) packed twice: for the GEMM (several batch
// rows per step) and for the one-row GEMV (batch-1 latency: one sequential
// stream per column block). Both give a row the same bits.
struct RecurrentKernel {
  int64_t rows = 0, cols = 0;
  PackedMatrix gemm;
  Buffer<float> gemv;

  void pack(const KernelTable& k, const float* b, int64_t r, int64_t c) {
    rows = r;
    cols = c;
    gemm.pack(k, b, r, c);
    gemv.reset(k.rnn_gemv_packed_size(r, c));
    k.rnn_gemv_pack(b, r, c, gemv.data());
  }
};

class RnnOp final : public Op {
 public:
  RnnOp(const OpNode& node, const KernelTable& k) : Op(node) {
    const std::string cell = node.attr_str("cell");
    if (cell == "simple_rnn") {
      cell_ = Cell::kSimple;
      gates_ = 1;
    } else if (cell == "lstm") {
      cell_ = Cell::kLstm;
      gates_ = 4;
    } else if (cell == "gru") {
      cell_ = Cell::kGru;
      gates_ = 3;
    } else {
      fail(ErrorKind::kInvalidModel, where() + ": unknown cell '" + cell + "'");
    }
    units_ = node.attr_int("units");
    if (units_ < 1) fail(ErrorKind::kInvalidModel, where() + ": units must be positive");
    reset_after_ = cell_ == Cell::kGru && node.attr_int("reset_after", 0) != 0;
    act_ = parse_cell_activation(node, "activation", "act", "tanh");
    ract_ = parse_cell_activation(node, "recurrent_activation", "ract", "sigmoid");
    go_backwards_ = node.attr_int("go_backwards", 0) != 0;
    return_sequences_ = node.attr_int("return_sequences", 0) != 0;
    return_state_ = node.attr_int("return_state", 0) != 0;
    reverse_output_ = node.attr_int("reverse_output", 0) != 0;
    has_mask_ = node.attr_int("has_mask", 0) != 0;
    const std::string mo = node.attr_str("mask_output", "state");
    if (mo == "state") {
      mask_output_ = MaskOutput::kState;
    } else if (mo == "previous") {
      mask_output_ = MaskOutput::kPrevious;
    } else if (mo == "zero") {
      mask_output_ = MaskOutput::kZero;
    } else {
      fail(ErrorKind::kInvalidModel, where() + ": unknown mask_output '" + mo + "'");
    }
    num_states_ = cell_ == Cell::kLstm ? 2 : 1;
    const size_t fixed = 1 + (has_mask_ ? 1 : 0);
    node.require_inputs(fixed, fixed + num_states_);
    if (node.inputs.size() != fixed && node.inputs.size() != fixed + num_states_)
      fail(ErrorKind::kInvalidModel,
           where() + ": expected 0 or " + std::to_string(num_states_) + " initial states");
    has_states_ = node.inputs.size() == fixed + num_states_;

    const int64_t gu = gates_ * units_;
    const WeightTensor& kernel = node.require_weight("kernel", {-1, gu});
    features_ = kernel.shape[0];
    if (features_ < 1) fail(ErrorKind::kInvalidModel, where() + ": kernel has no rows");
    const WeightTensor& rec = node.require_weight("recurrent_kernel", {units_, gu});
    fused_ = fuse_step(cell_ != Cell::kGru, features_, units_);
    if (fused_) {
      // [W; U]: the kernel's F rows, then the recurrent kernel's u rows.
      std::vector<float> wu(static_cast<size_t>((features_ + units_) * gu));
      std::copy_n(kernel.f32.data(), features_ * gu, wu.data());
      std::copy_n(rec.f32.data(), units_ * gu, wu.data() + features_ * gu);
      // Masked rows keep the one-row GEMV (the parts run unmasked steps only).
      // TFJS_INFER_RNN_UNIT_PARTS=0 keeps it for every fused cell (read at load, for A/B).
      const WeightTensor* b = node.weight("bias");
      const bool bias_ok = b && b->f32.size() == static_cast<size_t>(gu);  // checked below
      if (!has_mask_ && !env_is("TFJS_INFER_RNN_UNIT_PARTS", "0"))
        parts_.pack(k, wu.data(), bias_ok ? b->f32.data() : nullptr, features_ + units_, gates_,
                    units_);
      u_.pack(k, wu.data(), features_ + units_, gu);
    } else if (cell_ == Cell::kGru && !reset_after_) {
      // reset_after=False multiplies r into h before the candidate's product:
      // two products per step, h U[:, :2u] and (r h) U[:, 2u:].
      std::vector<float> zr(static_cast<size_t>(units_ * 2 * units_));
      std::vector<float> hh(static_cast<size_t>(units_ * units_));
      for (int64_t r = 0; r < units_; ++r) {
        std::copy_n(rec.f32.data() + r * gu, 2 * units_, zr.data() + r * 2 * units_);
        std::copy_n(rec.f32.data() + r * gu + 2 * units_, units_, hh.data() + r * units_);
      }
      u_.pack(k, zr.data(), units_, 2 * units_);
      uh_.pack(k, hh.data(), units_, units_);
    } else {
      u_.pack(k, rec.f32.data(), units_, gu);
    }
    // Batch 1 of a fused cell: x_t W of every step as one GEMM first, each
    // step's GEMV continuing those sums over h with U alone (split_x_).
    split_x_ = fused_ && !env_is("TFJS_INFER_RNN_SPLIT_X", "0");
    min_task_rows_ = min_task_rows();
    if (split_x_) {
      rec_gemv_.reset(k.rnn_gemv_packed_size(units_, gu));
      k.rnn_gemv_pack(rec.f32.data(), units_, gu, rec_gemv_.data());
    }
    if (!fused_ || split_x_) packed_w_.pack(k, kernel.f32.data(), features_, gu);
    if (const WeightTensor* b = node.weight("bias")) {
      if (reset_after_) {
        node.require_weight("bias", {2, gu});
        bias_rec_.reset(static_cast<size_t>(gu));
        std::copy_n(b->f32.data() + gu, gu, bias_rec_.data());
      } else {
        node.require_weight("bias", {gu});
      }
      bias_in_.reset(static_cast<size_t>(gu));
      std::copy_n(b->f32.data(), gu, bias_in_.data());
    }
  }

  std::vector<ValueType> infer(const std::vector<ValueType>& in) const override {
    const Shape& s = in[0].shape;
    if (s.size() != 3 || !dims_fit(s[2], features_) || in[0].dtype != DType::kFloat32)
      shape_error("expected a float32 input of shape (batch, steps, " + std::to_string(features_) +
                  "), received " + shape_str(s));
    if (known(s[1]) && s[1] < 1) shape_error("the input has no time steps: " + shape_str(s));
    size_t i = 1;
    if (has_mask_) {
      if (!shapes_fit(in[i].shape, {s[0], s[1]}) || in[i].dtype != DType::kFloat32)
        shape_error("expected a mask of shape " + shape_str({s[0], s[1]}) + ", received " +
                    shape_str(in[i].shape));
      ++i;
    }
    for (; i < in.size(); ++i)
      if (!shapes_fit(in[i].shape, {s[0], units_}) || in[i].dtype != DType::kFloat32)
        shape_error("expected initial states of shape " + shape_str({s[0], units_}) +
                    ", received " + shape_str(in[i].shape));
    std::vector<ValueType> out;
    out.push_back(
        {return_sequences_ ? Shape{s[0], s[1], units_} : Shape{s[0], units_}, DType::kFloat32});
    if (return_state_)
      for (int j = 0; j < num_states_; ++j) out.push_back({{s[0], units_}, DType::kFloat32});
    return out;
  }

  size_t scratch_bytes(const std::vector<ValueType>& in) const override {
    const Layout l = layout(in[0].shape[0], in[0].shape[1]);
    return static_cast<size_t>(l.total) * sizeof(float);
  }

  void run(const RunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const int64_t n = in[0].shape[0], steps = in[0].shape[1];
    if (n == 0) return;
    const Layout l = layout(n, steps);
    const int64_t gu = gates_ * units_;
    const int64_t flops = 2 * n * steps * gu * (features_ + units_);
    if (n == 1 && parts_.count > 0) {
      const int threads = threads_for(ctx.num_threads, flops, parts_.count);
      if (threads > 1) return run_row_parts(ctx, in, out, l, 0);
    }
    const int threads = threads_for(ctx.num_threads, flops, n);
    // Up to four row blocks per thread of at least kMinTaskRows rows: a
    // thread descheduled mid-call (a shared host) leaves the blocks it has not
    // started to the others. Rows never interact, so any cut gives the same bits.
    const int64_t tasks =
        threads <= 1 ? 1 : std::clamp<int64_t>(n / min_task_rows_, threads, 4 * threads);
    parallel_for_owned(tasks, threads, [&](int64_t t) {
      const int64_t r0 = n * t / tasks, r1 = n * (t + 1) / tasks;
      if (r1 > r0) run_rows(ctx, in, out, l, r0, r1);
    });
  }

 private:
  // Scratch offsets in floats, for n rows of `steps` steps.
  struct Layout {
    int64_t chunk = 0;  // steps projected at once
    int64_t xw = 0, h = 0, h2 = 0, c = 0, pre = 0, aux = 0, seen = 0, total = 0;
    int64_t ldh = 0;  // between rows of h: units, or F + units when fused (h beside x_t)
  };

  Layout layout(int64_t n, int64_t steps) const {
    const int64_t gu = gates_ * units_;
    Layout l;
    l.chunk =
        std::max<int64_t>(1, std::min(steps, kProjectionFloats / std::max<int64_t>(1, n * gu)));
    int64_t at = 0;
    auto take = [&at](int64_t floats) {
      const int64_t off = at;
      at += align16(floats);
      return off;
    };
    l.ldh = fused_ ? features_ + units_ : units_;
    l.xw = fused_ && !(n == 1 && split_x_) ? take(0) : take(n * l.chunk * gu);
    l.h = take(n * l.ldh);
    l.h2 = take(parts_.count > 0 ? n * l.ldh : 0);  // run_row_parts: the next step's [x_t | h]
    l.c = take(n * units_);
    l.pre = take(n * gu);
    l.aux = take(n * units_);
    l.seen = take(n);
    l.total = at;
    return l;
  }

  void gemm(const KernelTable& k, int64_t m, const float* a, int64_t lda, const PackedMatrix& b,
            const float* bias, const float* residual, int64_t ldr, float* c, int64_t ldc) const {
    GemmCall g;
    g.m = m;
    g.a = a;
    g.lda = lda;
    g.c = c;
    g.ldc = ldc;
    g.ep.bias = bias;
    g.ep.residual = residual;
    g.ep.ldr = ldr;
    gemm_run(k, b, g);
  }

  // c[0:m, 0:cols] = (a[0:m] . U + bias) + residual[0:m]: the one-row GEMV
  // at batch 1, the GEMM otherwise (the same bits per row).
  void matvec(const KernelTable& k, int64_t m, const float* a, const RecurrentKernel& w,
              const float* bias, const float* residual, int64_t ldr, float* c, int64_t ldc) const {
    if (m == 1) {
      RnnGemvArgs g;
      g.k = w.rows;
      g.n = w.cols;
      g.x = a;
      g.packed = w.gemv.data();
      g.bias = bias;
      g.residual = residual;
      g.y = c;
      k.rnn_gemv_f32(g);
      return;
    }
    gemm(k, m, a, w.rows, w.gemm, bias, residual, ldr, c, ldc);
  }

  // Rows [r0, r1) through every step.
  void run_rows(const RunContext& ctx, const std::vector<TensorView>& in,
                const std::vector<TensorView>& out, const Layout& l, int64_t r0, int64_t r1) const {
    const KernelTable& k = *ctx.kernels;
    const int64_t steps = in[0].shape[1], u = units_, gu = gates_ * units_;
    const int64_t nb = r1 - r0;
    float* base = static_cast<float*>(ctx.scratch);
    float* xw = base + l.xw + r0 * l.chunk * gu;
    const int64_t ldh = l.ldh;
    float* h = base + l.h + r0 * ldh + (fused_ ? features_ : 0);
    float* c = base + l.c + r0 * u;
    float* pre = base + l.pre + r0 * gu;
    float* aux = base + l.aux + r0 * u;
    float* seen = base + l.seen + r0;
    const float* x = in[0].f32();
    const size_t first_state = has_mask_ ? 2 : 1;

    for (int64_t s = 0; s < num_states_; ++s) {
      float* dst = s == 0 ? h : c;
      const int64_t ld = s == 0 ? ldh : u;
      for (int64_t r = 0; r < nb; ++r) {
        if (has_states_)
          std::memcpy(dst + r * ld, in[first_state + s].f32() + (r0 + r) * u,
                      static_cast<size_t>(u) * 4);
        else
          std::fill_n(dst + r * ld, u, 0.0f);
      }
    }
    std::fill_n(seen, nb, 0.0f);
    const Rows rows{in, out, r0, nb, steps, h, ldh, c, pre, aux, seen};

    RnnGateArgs ga;
    ga.units = u;
    ga.act = act_;
    ga.ract = ract_;

    // A batch of one row (the scratch holds its projection): run_row_split.
    if (fused_ && split_x_ && in[0].shape[0] == 1) return run_row_split(k, x, xw, l, ga, rows);
    if (fused_) {
      float* xh = h - features_;  // row r: x_t's F floats, then h
      for (int64_t s = 0; s < steps; ++s) {
        const int64_t t = go_backwards_ ? steps - 1 - s : s;
        for (int64_t r = 0; r < nb; ++r)
          std::memcpy(xh + r * ldh, x + ((r0 + r) * steps + t) * features_,
                      static_cast<size_t>(features_) * 4);
        step_and_emit(k, ga, rows, nullptr, 0, s, t);
      }
      return finish(rows);
    }
    for (int64_t s0 = 0; s0 < steps; s0 += l.chunk) {
      const int64_t sc = std::min(l.chunk, steps - s0);
      const int64_t tlo = go_backwards_ ? steps - s0 - sc : s0;
      // Input projection of steps [tlo, tlo + sc) for the block's rows.
      const float* bias = bias_in_.size() ? bias_in_.data() : nullptr;
      if (sc == steps) {
        gemm(k, nb * steps, x + r0 * steps * features_, features_, packed_w_, bias, nullptr, 0, xw,
             gu);
      } else {
        for (int64_t r = 0; r < nb; ++r)
          gemm(k, sc, x + ((r0 + r) * steps + tlo) * features_, features_, packed_w_, bias, nullptr,
               0, xw + r * l.chunk * gu, gu);
      }
      const int64_t ldx = l.chunk * gu;  // between rows of the projection
      for (int64_t s = s0; s < s0 + sc; ++s) {
        const int64_t t = go_backwards_ ? steps - 1 - s : s;
        step_and_emit(k, ga, rows, xw + (t - tlo) * gu, ldx, s, t);
      }
    }
    finish(rows);
  }

  // One row of a fused cell (no mask) through every step, each step as two
  // parts by units (UnitParts) on two threads (StepHandoff). Two [x_t | h]
  // buffers take turns: step s reads one and writes its h and the next x into
  // the other, so one part never overwrites what the other part of the same
  // step still reads.
  void run_row_parts(const RunContext& ctx, const std::vector<TensorView>& in,
                     const std::vector<TensorView>& out, const Layout& l, int64_t r) const {
    const int64_t steps = in[0].shape[1], u = units_, f = features_;
    float* base = static_cast<float*>(ctx.scratch);
    float* const xh[2] = {base + l.h + r * l.ldh, base + l.h2 + r * l.ldh};
    float* c = base + l.c + r * u;
    float* pre = base + l.pre + r * gates_ * u;
    const float* x = in[0].f32();
    const size_t first_state = has_mask_ ? 2 : 1;
    for (int s = 0; s < num_states_; ++s) {
      float* dst = s == 0 ? xh[0] + f : c;
      if (has_states_)
        std::memcpy(dst, in[first_state + s].f32() + r * u, static_cast<size_t>(u) * 4);
      else
        std::fill_n(dst, u, 0.0f);
    }
    const auto time_of = [&](int64_t s) { return go_backwards_ ? steps - 1 - s : s; };
    const auto load_x = [&](int64_t s, float* dst) {
      std::memcpy(dst, x + (r * steps + time_of(s)) * f, static_cast<size_t>(f) * 4);
    };
    load_x(0, xh[0]);
    const auto task = [&](int64_t s, int p) {
      float* next = xh[(s + 1) & 1];
      part_step(*ctx.kernels, xh[s & 1], next + f, c, pre, p);
      if (p == 0 && s + 1 < steps) load_x(s + 1, next);
      emit_part(out, r, steps, s, next + f, p);
    };
    StepHandoff handoff;
    parallel_for(2, 2, [&](int64_t) { handoff.run(steps, task); });
    const Rows last{in, out, r, 1, steps, xh[steps & 1] + f, l.ldh, c, pre, nullptr, nullptr};
    finish(last);
  }

  // Part p of one step: its columns of [x_t | h] . [W; U] + b, then its units'
  // gate math into h_next and c.
  void part_step(const KernelTable& k, const float* xh, float* h_next, float* c, float* pre,
                 int p) const {
    const int64_t j0 = parts_.j[p], w = parts_.j[p + 1] - j0;
    float* pre_p = pre + gates_ * j0;
    RnnGemvArgs g;
    g.k = features_ + units_;
    g.n = gates_ * w;
    g.x = xh;
    g.packed = parts_.packed.data() + parts_.off[p];
    g.bias = parts_.bias.size() ? parts_.bias.data() + gates_ * j0 : nullptr;
    g.y = pre_p;
    k.rnn_gemv_f32(g);
    RnnGateArgs ga;
    ga.kind = cell_ == Cell::kLstm ? RnnGateKind::kLstm : RnnGateKind::kSimple;
    ga.m = 1;
    ga.units = w;
    ga.act = act_;
    ga.ract = ract_;
    ga.pre = pre_p;
    ga.ldp = gates_ * w;
    ga.h = h_next + j0;
    ga.ldh = w;
    if (cell_ == Cell::kLstm) {
      ga.c = c + j0;
      ga.ldc = w;
    }
    k.rnn_gates_f32(ga);
  }

  // Part p's units of processing step s's output (no mask).
  void emit_part(const std::vector<TensorView>& out, int64_t r, int64_t steps, int64_t s,
                 const float* h, int p) const {
    if (!return_sequences_ && s != steps - 1) return;
    const int64_t u = units_, j0 = parts_.j[p], w = parts_.j[p + 1] - j0;
    const int64_t pos = reverse_output_ ? steps - 1 - s : s;
    float* y = out[0].f32() + (return_sequences_ ? (r * steps + pos) * u : r * u);
    std::memcpy(y + j0, h + j0, static_cast<size_t>(w) * 4);
  }

  // One row block's buffers during run_rows.
  struct Rows {
    const std::vector<TensorView>& in;
    const std::vector<TensorView>& out;
    int64_t r0, nb, steps;
    float* h;
    int64_t ldh;
    float *c, *pre, *aux, *seen;
  };

  // Processing step s (time t) of the block's rows, then its output.
  void step_and_emit(const KernelTable& k, const RnnGateArgs& ga, const Rows& b, const float* xw_t,
                     int64_t ldx, int64_t s, int64_t t) const {
    const int64_t u = units_, r0 = b.r0, nb = b.nb, steps = b.steps;
    const float* mask = has_mask_ ? b.in[1].f32() : nullptr;
    bool all_keep = true;
    if (mask)
      for (int64_t r = 0; r < nb && all_keep; ++r) all_keep = mask[(r0 + r) * steps + t] != 0.0f;
    step(k, ga, nb, xw_t, ldx, b.h, b.ldh, b.c, b.pre, b.aux, mask, r0, steps, t, all_keep);
    const bool last = s == steps - 1;
    float* seen = b.seen;
    if (!return_sequences_ && !last) {
      if (mask)
        for (int64_t r = 0; r < nb; ++r) seen[r] = seen[r] != 0.0f || keep(mask, r0 + r, steps, t);
      return;
    }
    float* y = b.out[0].f32();
    const int64_t pos = reverse_output_ ? steps - 1 - s : s;
    for (int64_t r = 0; r < nb; ++r) {
      const bool kept = keep(mask, r0 + r, steps, t);
      if (kept) seen[r] = 1.0f;
      float* dst = return_sequences_ ? y + ((r0 + r) * steps + pos) * u : y + (r0 + r) * u;
      const bool carry = kept || mask_output_ == MaskOutput::kState ||
                         (mask_output_ == MaskOutput::kPrevious && seen[r] != 0.0f);
      if (carry)
        std::memcpy(dst, b.h + r * b.ldh, static_cast<size_t>(u) * 4);
      else
        std::fill_n(dst, u, 0.0f);
    }
  }

  // One row (rows.nb == 1) of a fused cell through every step: per chunk of
  // steps, x_t W (no bias) for each as one GEMM, each lane's sum over the
  // first F rows of [x_t | h] . [W; U]; then each step's GEMV continues it
  // over h and U alone (RnnGemvArgs::acc_in) and adds the bias: the fused
  // product's bits. The GEMV streams u instead of F + u rows of weights a
  // step from L2 and the GEMM reads W once for the chunk.
  void run_row_split(const KernelTable& k, const float* x, float* xw, const Layout& l,
                     const RnnGateArgs& ga, const Rows& rows) const {
    const int64_t steps = rows.steps, gu = gates_ * units_;
    for (int64_t s0 = 0; s0 < steps; s0 += l.chunk) {
      const int64_t sc = std::min(l.chunk, steps - s0);
      const int64_t tlo = go_backwards_ ? steps - s0 - sc : s0;
      gemm(k, sc, x + (rows.r0 * steps + tlo) * features_, features_, packed_w_, nullptr, nullptr,
           0, xw, gu);
      for (int64_t s = s0; s < s0 + sc; ++s) {
        const int64_t t = go_backwards_ ? steps - 1 - s : s;
        step_and_emit(k, ga, rows, xw + (t - tlo) * gu, gu, s, t);
      }
    }
    finish(rows);
  }

  // The final states, when the layer returns them.
  void finish(const Rows& b) const {
    if (!return_state_) return;
    const int64_t u = units_;
    for (int64_t s = 0; s < num_states_; ++s)
      for (int64_t r = 0; r < b.nb; ++r)
        std::memcpy(b.out[1 + s].f32() + (b.r0 + r) * u, s == 0 ? b.h + r * b.ldh : b.c + r * u,
                    static_cast<size_t>(u) * 4);
  }

  static bool keep(const float* mask, int64_t row, int64_t steps, int64_t t) {
    return !mask || mask[row * steps + t] != 0.0f;
  }

  // Applies the gate kernel to the rows that the mask keeps at step t (all
  // rows at once when none is masked; masked rows keep their states).
  void gates(const KernelTable& k, RnnGateArgs ga, int64_t nb, const float* mask, int64_t r0,
             int64_t steps, int64_t t, bool all_keep) const {
    if (all_keep) {
      ga.m = nb;
      k.rnn_gates_f32(ga);
      return;
    }
    RnnGateArgs one = ga;
    one.m = 1;
    for (int64_t r = 0; r < nb; ++r) {
      if (!keep(mask, r0 + r, steps, t)) continue;
      one.x = ga.x ? ga.x + r * ga.ldx : nullptr;
      one.pre = ga.pre + r * ga.ldp;
      one.h = ga.h + r * ga.ldh;
      one.c = ga.c ? ga.c + r * ga.ldc : nullptr;
      one.aux = ga.aux ? ga.aux + r * ga.lda : nullptr;
      k.rnn_gates_f32(one);
    }
  }

  // One step of the cell for nb rows. Fused: h sits at column F of a row
  // holding x_t (ldh = F + u), and the product reads the whole row.
  void step(const KernelTable& k, RnnGateArgs ga, int64_t nb, const float* xw_t, int64_t ldx,
            float* h, int64_t ldh, float* c, float* pre, float* aux, const float* mask, int64_t r0,
            int64_t steps, int64_t t, bool all_keep) const {
    const int64_t u = units_, gu = gates_ * units_;
    const float* bias = bias_in_.size() ? bias_in_.data() : nullptr;
    ga.h = h;
    ga.ldh = ldh;
    ga.pre = pre;
    ga.ldp = gu;
    // SimpleRNN and LSTM: one product for every gate's pre-activation.
    const auto all_gates_product = [&] {
      if (fused_ && xw_t) {  // run_row_split: one row, x_t W given
        RnnGemvArgs g;
        g.k = u;
        g.n = gu;
        g.x = h;
        g.packed = rec_gemv_.data();
        g.acc_in = xw_t;
        g.bias = bias;
        g.y = pre;
        k.rnn_gemv_f32(g);
      } else if (fused_) {
        matvec(k, nb, h - features_, u_, bias, nullptr, 0, pre, gu);
      } else {
        matvec(k, nb, h, u_, nullptr, xw_t, ldx, pre, gu);
      }
    };
    switch (cell_) {
      case Cell::kSimple:
        all_gates_product();
        ga.kind = RnnGateKind::kSimple;
        break;
      case Cell::kLstm:
        all_gates_product();
        ga.kind = RnnGateKind::kLstm;
        ga.c = c;
        ga.ldc = u;
        break;
      case Cell::kGru:
        if (reset_after_) {
          matvec(k, nb, h, u_, bias_rec_.size() ? bias_rec_.data() : nullptr, nullptr, 0, pre, gu);
          ga.kind = RnnGateKind::kGruResetAfter;
          ga.x = xw_t;
          ga.ldx = ldx;
        } else {
          matvec(k, nb, h, u_, nullptr, xw_t, ldx, pre, gu);
          ga.kind = RnnGateKind::kGruZr;
          ga.aux = aux;
          ga.lda = u;
          gates(k, ga, nb, mask, r0, steps, t, all_keep);
          // Candidate: (r h) U_h + x_h, into pre[2u:3u]; z stays in pre[0:u].
          matvec(k, nb, aux, uh_, nullptr, xw_t + 2 * u, ldx, pre + 2 * u, gu);
          ga.kind = RnnGateKind::kGruH;
          ga.pre = pre + 2 * u;
          ga.aux = pre;
          ga.lda = gu;
        }
        break;
    }
    gates(k, ga, nb, mask, r0, steps, t, all_keep);
  }

  Cell cell_ = Cell::kLstm;
  int64_t gates_ = 4, units_ = 0, features_ = 0;
  int num_states_ = 2;
  bool reset_after_ = false, go_backwards_ = false, return_sequences_ = false;
  bool return_state_ = false, reverse_output_ = false, has_mask_ = false, has_states_ = false;
  bool fused_ = false;  // [x_t | h] . [W; U] per step (fuse_step)
  // Fused, a batch of one row on one thread: x_t W first (run_row_split).
  // The bench LSTM (32 features, 128 units, 50 steps) at batch 1, 1 thread:
  // 0.161 -> 0.149 ms (0.927x; AMD EPYC family 25 model 17, Zen 4, bench/
  // env_ab.py --var TFJS_INFER_RNN_SPLIT_X --values 0,1 --models lstm
  // --threads 1 --batch 1, thread CPU time), its GEMV streaming 256 instead
  // of 320 KiB of weights a step from L2. TFJS_INFER_RNN_SPLIT_X=0 keeps the
  // fused GEMV (read at load, for A/B).
  bool split_x_ = false;
  int64_t min_task_rows_ = kMinTaskRows;  // rows per thread task at least (min_task_rows)
  MaskOutput mask_output_ = MaskOutput::kState;
  ActParams act_, ract_;
  PackedMatrix packed_w_;
  Buffer<float> bias_in_, bias_rec_;
  RecurrentKernel u_, uh_;  // uh_: GRU reset_after=False only
  Buffer<float> rec_gemv_;  // split_x_: U alone, packed for the one-row GEMV
  UnitParts parts_;         // fused cells without a mask: batch-1 steps by units
};

}  // namespace

void register_recurrent_ops(OpRegistry& r) {
  r["rnn"] = [](const OpNode& n, const KernelTable& k) { return std::make_unique<RnnOp>(n, k); };
  register_sequence_ops(r);
  register_conv_lstm_ops(r);
}

}  // namespace tfjs_infer
