// "rnn" on the GPU: SimpleRNN, LSTM and GRU (reset_after either way), with
// masks, initial states, go_backwards, return_sequences/return_state and
// reverse_output, as the CPU op (ops/recurrent.cpp). The input projection of
// every step is one GEMM (input bias in its epilogue); then per step the
// recurrent GEMM (the step's projection as its residual) and the gate kernel
// on every row. With a mask, the states are saved before the step and a
// per-row kernel puts them back for the rows the mask drops, and writes the
// step's output by the CPU op's mask_output rule. GRU with reset_after=False
// takes two recurrent products per step, h U[:, :2u] and (r h) U[:, 2u:].
#include "cuda/kernels/gemm.h"
#include "cuda/kernels/rnn.h"
#include "cuda/ops/cuda_op.h"
#include "ops/activation.h"

namespace tfjs_infer {

namespace {

constexpr size_t kAlignFloats = 64;
int64_t align_floats(int64_t n) { return (n + kAlignFloats - 1) / kAlignFloats * kAlignFloats; }

enum class Cell { kSimple, kLstm, kGru };

// Columns [c0, c0 + cols) of a row-major weight [rows, width], as a new buffer.
std::vector<float> column_block(const WeightTensor& w, int64_t c0, int64_t cols) {
  std::vector<float> all(static_cast<size_t>(w.size()));
  w.copy_values(all.data());
  const int64_t rows = w.shape[0], width = w.shape[1];
  std::vector<float> out(static_cast<size_t>(rows * cols));
  for (int64_t r = 0; r < rows; ++r)
    std::copy_n(all.data() + r * width + c0, cols, out.data() + r * cols);
  return out;
}

class CudaRnn final : public CudaOp {
 public:
  explicit CudaRnn(const OpNode& node) : where_(node.where()) {
    const std::string cell = node.attr_str("cell");
    cell_ = cell == "simple_rnn" ? Cell::kSimple : cell == "lstm" ? Cell::kLstm : Cell::kGru;
    gates_ = cell_ == Cell::kSimple ? 1 : cell_ == Cell::kLstm ? 4 : 3;
    units_ = node.attr_int("units");
    reset_after_ = cell_ == Cell::kGru && node.attr_int("reset_after", 0) != 0;
    act_ = parse_cell_activation(node, "activation", "act", "tanh");
    ract_ = parse_cell_activation(node, "recurrent_activation", "ract", "sigmoid");
    go_backwards_ = node.attr_int("go_backwards", 0) != 0;
    return_sequences_ = node.attr_int("return_sequences", 0) != 0;
    return_state_ = node.attr_int("return_state", 0) != 0;
    reverse_output_ = node.attr_int("reverse_output", 0) != 0;
    has_mask_ = node.attr_int("has_mask", 0) != 0;
    const std::string mo = node.attr_str("mask_output", "state");
    mask_output_ = mo == "previous" ? cuda::RnnMaskOutput::kPrevious
                   : mo == "zero"   ? cuda::RnnMaskOutput::kZero
                                    : cuda::RnnMaskOutput::kState;
    num_states_ = cell_ == Cell::kLstm ? 2 : 1;
    has_states_ = node.inputs.size() == (has_mask_ ? 2u : 1u) + num_states_;
    const int64_t u = units_, gu = gates_ * units_;
    const WeightTensor& kernel = node.require_weight("kernel", {-1, gu});
    features_ = kernel.shape[0];
    kernel_ = upload_weight(kernel);
    const WeightTensor& rec = node.require_weight("recurrent_kernel", {u, gu});
    if (cell_ == Cell::kGru && !reset_after_) {
      recurrent_ = upload_floats(column_block(rec, 0, 2 * u));
      recurrent_h_ = upload_floats(column_block(rec, 2 * u, u));
    } else {
      recurrent_ = upload_weight(rec);
    }
    if (const WeightTensor* b = node.weight("bias")) {
      std::vector<float> values(static_cast<size_t>(b->size()));
      b->copy_values(values.data());
      bias_in_ = upload_floats(std::vector<float>(values.begin(), values.begin() + gu));
      if (reset_after_ && b->size() == 2 * gu)
        bias_rec_ = upload_floats(std::vector<float>(values.begin() + gu, values.end()));
    }
  }

  size_t scratch_bytes(const std::vector<ValueType>& in) const override {
    return static_cast<size_t>(layout(in[0].shape[0], in[0].shape[1]).total) * sizeof(float);
  }

  void run(const CudaRunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const int64_t n = in[0].shape[0], steps = in[0].shape[1], u = units_, gu = gates_ * u;
    if (n == 0) return;
    const Layout l = layout(n, steps);
    float* base = static_cast<float*>(ctx.scratch);
    Scratch s{base + l.xw,      base + l.h,   base + l.c,   base + l.h_saved,
              base + l.c_saved, base + l.pre, base + l.aux, base + l.seen};
    init_states(ctx, in, s, n);
    // Every step's input projection at once: xw[r, t] = x[r, t] W + b_in.
    gemm(ctx, n * steps, gu, features_, in[0].f32(), features_, dev_f32(kernel_), dev_f32(bias_in_),
         nullptr, 0, s.xw, gu);
    const float* mask = has_mask_ ? in[1].f32() : nullptr;
    float* y = out[0].f32();
    const size_t state_bytes = static_cast<size_t>(n * u) * 4;
    for (int64_t step = 0; step < steps; ++step) {
      const int64_t t = go_backwards_ ? steps - 1 - step : step;
      if (mask) {
        copy(ctx, s.h_saved, s.h, state_bytes);
        if (cell_ == Cell::kLstm) copy(ctx, s.c_saved, s.c, state_bytes);
      }
      run_step(ctx, n, s, s.xw + t * gu, steps * gu);
      const bool emit = return_sequences_ || step == steps - 1;
      const int64_t pos = reverse_output_ ? steps - 1 - step : step;
      float* y_row = return_sequences_ ? y + pos * u : y;
      const int64_t ldy = return_sequences_ ? steps * u : u;
      if (mask) {
        cuda::RnnMaskStepArgs m;
        m.mask = mask, m.m = n, m.units = u, m.steps = steps, m.t = t;
        m.h = s.h, m.h_saved = s.h_saved, m.seen = s.seen;
        if (cell_ == Cell::kLstm) m.c = s.c, m.c_saved = s.c_saved;
        m.y = emit ? y_row : nullptr, m.ldy = ldy, m.mask_output = mask_output_;
        check_launch(cuda::rnn_mask_step_f32(m, ctx.stream), where_);
      } else if (emit) {
        check_cuda(cudaMemcpy2DAsync(y_row, static_cast<size_t>(ldy) * 4, s.h,
                                     static_cast<size_t>(u) * 4, static_cast<size_t>(u) * 4,
                                     static_cast<size_t>(n), cudaMemcpyDeviceToDevice, ctx.stream),
                   "cudaMemcpy2DAsync (rnn output)");
      }
    }
    if (return_state_) {
      copy(ctx, out[1].f32(), s.h, state_bytes);
      if (cell_ == Cell::kLstm) copy(ctx, out[2].f32(), s.c, state_bytes);
    }
  }

 private:
  struct Layout {
    int64_t xw = 0, h = 0, c = 0, h_saved = 0, c_saved = 0, pre = 0, aux = 0, seen = 0, total = 0;
  };
  struct Scratch {
    float *xw, *h, *c, *h_saved, *c_saved, *pre, *aux, *seen;
  };

  Layout layout(int64_t n, int64_t steps) const {
    const int64_t gu = gates_ * units_, state = align_floats(n * units_);
    Layout l;
    l.h = align_floats(n * steps * gu);
    l.c = l.h + state;
    l.h_saved = l.c + state;
    l.c_saved = l.h_saved + state;
    l.pre = l.c_saved + state;
    l.aux = l.pre + align_floats(n * gu);
    l.seen = l.aux + state;
    l.total = l.seen + align_floats(n);
    return l;
  }

  // h and c from the initial-state inputs, or zeros; no kept step seen yet.
  void init_states(const CudaRunContext& ctx, const std::vector<TensorView>& in, const Scratch& s,
                   int64_t n) const {
    const size_t bytes = static_cast<size_t>(n * units_) * 4;
    const size_t first = has_mask_ ? 2 : 1;
    for (int k = 0; k < num_states_; ++k) {
      float* dst = k == 0 ? s.h : s.c;
      if (has_states_)
        copy(ctx, dst, in[first + k].f32(), bytes);
      else
        check_cuda(cudaMemsetAsync(dst, 0, bytes, ctx.stream), "cudaMemsetAsync (rnn state)");
    }
    if (cell_ != Cell::kLstm)
      check_cuda(cudaMemsetAsync(s.c, 0, bytes, ctx.stream), "cudaMemsetAsync (rnn state)");
    check_cuda(cudaMemsetAsync(s.seen, 0, static_cast<size_t>(n) * 4, ctx.stream),
               "cudaMemsetAsync (rnn mask)");
  }

  // One step on every row: the recurrent product(s) and the gate kernel(s).
  void run_step(const CudaRunContext& ctx, int64_t n, const Scratch& s, const float* xw_t,
                int64_t ldx) const {
    const int64_t u = units_, gu = gates_ * u;
    RnnGateArgs ga;
    ga.m = n, ga.units = u, ga.act = act_, ga.ract = ract_;
    ga.pre = s.pre, ga.ldp = gu, ga.h = s.h, ga.ldh = u;
    switch (cell_) {
      case Cell::kSimple:
      case Cell::kLstm:
        gemm(ctx, n, gu, u, s.h, u, dev_f32(recurrent_), nullptr, xw_t, ldx, s.pre, gu);
        ga.kind = cell_ == Cell::kSimple ? RnnGateKind::kSimple : RnnGateKind::kLstm;
        if (cell_ == Cell::kLstm) ga.c = s.c, ga.ldc = u;
        break;
      case Cell::kGru:
        if (reset_after_) {
          gemm(ctx, n, gu, u, s.h, u, dev_f32(recurrent_), dev_f32(bias_rec_), nullptr, 0, s.pre,
               gu);
          ga.kind = RnnGateKind::kGruResetAfter;
          ga.x = xw_t, ga.ldx = ldx;
          break;
        }
        // z and r: pre[0:2u] = h U[:, :2u] + x_zr; then z in place, aux = r h.
        gemm(ctx, n, 2 * u, u, s.h, u, dev_f32(recurrent_), nullptr, xw_t, ldx, s.pre, gu);
        ga.kind = RnnGateKind::kGruZr;
        ga.aux = s.aux, ga.lda = u;
        check_launch(cuda::rnn_gates_f32(ga, ctx.stream), where_);
        // Candidate: pre[2u:3u] = (r h) U[:, 2u:] + x_h; then h from z and it.
        gemm(ctx, n, u, u, s.aux, u, dev_f32(recurrent_h_), nullptr, xw_t + 2 * u, ldx,
             s.pre + 2 * u, gu);
        ga.kind = RnnGateKind::kGruH;
        ga.pre = s.pre + 2 * u, ga.aux = s.pre, ga.lda = gu;
        break;
    }
    check_launch(cuda::rnn_gates_f32(ga, ctx.stream), where_);
  }

  // c[m, cols] (row stride ldc) = a[m, k] (lda) . b[k, cols] + bias + residual (ldr).
  void gemm(const CudaRunContext& ctx, int64_t m, int64_t cols, int64_t k, const float* a,
            int64_t lda, const float* b, const float* bias, const float* residual, int64_t ldr,
            float* c, int64_t ldc) const {
    cuda::GemmArgs g;
    g.m = m, g.k = k, g.n = cols;
    g.a = a, g.lda = lda, g.b = b, g.ldb = cols, g.c = c, g.ldc = ldc;
    g.bias = bias, g.residual = residual, g.ldr = ldr;
    check_launch(cuda::gemm_f32(g, ctx.stream), where_);
  }

  void copy(const CudaRunContext& ctx, float* dst, const float* src, size_t bytes) const {
    check_cuda(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, ctx.stream),
               "cudaMemcpyAsync (rnn state)");
  }

  std::string where_;
  Cell cell_ = Cell::kLstm;
  int64_t gates_ = 4, units_ = 0, features_ = 0;
  int num_states_ = 2;
  ActParams act_, ract_;
  bool reset_after_ = false, go_backwards_ = false, return_sequences_ = false;
  bool return_state_ = false, reverse_output_ = false, has_mask_ = false, has_states_ = false;
  cuda::RnnMaskOutput mask_output_ = cuda::RnnMaskOutput::kState;
  CudaBuffer kernel_, recurrent_, recurrent_h_, bias_in_, bias_rec_;
};

}  // namespace

void register_cuda_recurrent_ops(CudaOpRegistry& r) {
  r["rnn"] = [](const OpNode& n) -> CudaOpPtr { return std::make_unique<CudaRnn>(n); };
}

}  // namespace tfjs_infer
