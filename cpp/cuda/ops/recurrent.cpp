// "rnn" on the GPU for SimpleRNN, LSTM and GRU (reset_after=True): the input
// projection of every step is one GEMM (input bias in its epilogue), then per
// step the recurrent GEMM (the step's projection as its residual) and the gate
// kernel. The hidden state of step t is written where the output wants it
// (the row of the output sequence, or a scratch row), and the next step's GEMM
// reads it there (its lda). Masks, initial-state inputs, GRU reset_after=False,
// GRU sequences (its gate reads the previous h in place) and return_state
// with sequences run on the CPU.
#include "cuda/kernels/gemm.h"
#include "cuda/kernels/rnn.h"
#include "cuda/ops/cuda_op.h"
#include "ops/activation.h"

namespace tfjs_infer {

namespace {

constexpr size_t kAlignFloats = 64;
int64_t align_floats(int64_t n) { return (n + kAlignFloats - 1) / kAlignFloats * kAlignFloats; }

class CudaRnn final : public CudaOp {
 public:
  CudaRnn(const OpNode& node, RnnGateKind kind, int64_t gates)
      : where_(node.where()), kind_(kind), gates_(gates) {
    units_ = node.attr_int("units");
    act_ = parse_cell_activation(node, "activation", "act", "tanh");
    ract_ = parse_cell_activation(node, "recurrent_activation", "ract", "sigmoid");
    go_backwards_ = node.attr_int("go_backwards", 0) != 0;
    return_sequences_ = node.attr_int("return_sequences", 0) != 0;
    return_state_ = node.attr_int("return_state", 0) != 0;
    reverse_output_ = node.attr_int("reverse_output", 0) != 0;
    const int64_t gu = gates_ * units_;
    const WeightTensor& kernel = node.require_weight("kernel", {-1, gu});
    features_ = kernel.shape[0];
    kernel_ = upload_weight(kernel);
    recurrent_ = upload_weight(node.require_weight("recurrent_kernel", {units_, gu}));
    if (const WeightTensor* b = node.weight("bias")) {
      std::vector<float> values(static_cast<size_t>(b->size()));
      b->copy_values(values.data());
      bias_in_ = upload_floats(std::vector<float>(values.begin(), values.begin() + gu));
      if (kind_ == RnnGateKind::kGruResetAfter && b->size() == 2 * gu)
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
    float *xw = base + l.xw, *h = base + l.h, *c = base + l.c, *pre = base + l.pre;
    check_cuda(cudaMemsetAsync(h, 0, static_cast<size_t>(n * u) * 4, ctx.stream),
               "cudaMemsetAsync");
    check_cuda(cudaMemsetAsync(c, 0, static_cast<size_t>(n * u) * 4, ctx.stream),
               "cudaMemsetAsync");
    // Every step's input projection at once: xw[r, t] = x[r, t] W + b_in.
    gemm(ctx, n * steps, features_, in[0].f32(), features_, dev_f32(kernel_), dev_f32(bias_in_),
         nullptr, 0, xw, gu);
    float* y = out[0].f32();
    const float* h_prev = h;  // zeros
    int64_t ld_prev = u;
    for (int64_t s = 0; s < steps; ++s) {
      const int64_t t = go_backwards_ ? steps - 1 - s : s;
      const float* xw_t = xw + t * gu;
      const int64_t ldx = steps * gu;
      RnnGateArgs ga;
      ga.kind = kind_;
      ga.m = n, ga.units = u, ga.act = act_, ga.ract = ract_;
      ga.pre = pre, ga.ldp = gu;
      if (kind_ == RnnGateKind::kGruResetAfter) {
        gemm(ctx, n, u, h_prev, ld_prev, dev_f32(recurrent_), dev_f32(bias_rec_), nullptr, 0, pre,
             gu);
        ga.x = xw_t, ga.ldx = ldx;
      } else {
        gemm(ctx, n, u, h_prev, ld_prev, dev_f32(recurrent_), nullptr, xw_t, ldx, pre, gu);
      }
      // Where this step's h goes: the output sequence's row, or the scratch h.
      const int64_t pos = reverse_output_ ? steps - 1 - s : s;
      float* h_out = return_sequences_ ? y + pos * u : h;
      ga.h = h_out, ga.ldh = return_sequences_ ? steps * u : u;
      if (kind_ == RnnGateKind::kLstm) ga.c = c, ga.ldc = u;
      check_launch(cuda::rnn_gates_f32(ga, ctx.stream), where_);
      h_prev = h_out;
      ld_prev = ga.ldh;
    }
    if (return_sequences_) return;
    const size_t row_bytes = static_cast<size_t>(n * u) * 4;
    copy(ctx, y, h, row_bytes);
    if (return_state_) {
      copy(ctx, out[1].f32(), h, row_bytes);
      if (kind_ == RnnGateKind::kLstm) copy(ctx, out[2].f32(), c, row_bytes);
    }
  }

 private:
  struct Layout {
    int64_t xw = 0, h = 0, c = 0, pre = 0, total = 0;
  };

  Layout layout(int64_t n, int64_t steps) const {
    const int64_t gu = gates_ * units_;
    Layout l;
    l.xw = 0;
    l.h = l.xw + align_floats(n * steps * gu);
    l.c = l.h + align_floats(n * units_);
    l.pre = l.c + align_floats(n * units_);
    l.total = l.pre + align_floats(n * gu);
    return l;
  }

  // c[m, gates*units] = a[m, k] (row stride lda) . b + bias + residual (row stride ldr).
  void gemm(const CudaRunContext& ctx, int64_t m, int64_t k, const float* a, int64_t lda,
            const float* b, const float* bias, const float* residual, int64_t ldr, float* c,
            int64_t ldc) const {
    cuda::GemmArgs g;
    g.m = m, g.k = k, g.n = gates_ * units_;
    g.a = a, g.lda = lda, g.b = b, g.ldb = g.n, g.c = c, g.ldc = ldc;
    g.bias = bias, g.residual = residual, g.ldr = ldr;
    check_launch(cuda::gemm_f32(g, ctx.stream), where_);
  }

  void copy(const CudaRunContext& ctx, float* dst, const float* src, size_t bytes) const {
    check_cuda(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, ctx.stream),
               "cudaMemcpyAsync (rnn state)");
  }

  std::string where_;
  RnnGateKind kind_;
  int64_t gates_, units_ = 0, features_ = 0;
  ActParams act_, ract_;
  bool go_backwards_ = false, return_sequences_ = false, return_state_ = false;
  bool reverse_output_ = false;
  CudaBuffer kernel_, recurrent_, bias_in_, bias_rec_;
};

}  // namespace

void register_cuda_recurrent_ops(CudaOpRegistry& r) {
  r["rnn"] = [](const OpNode& n) -> CudaOpPtr {
    const std::string cell = n.attr_str("cell", "");
    const bool sequences = n.attr_int("return_sequences", 0) != 0;
    const bool gru = cell == "gru" && n.attr_int("reset_after", 0) != 0 && !sequences;
    if ((cell != "simple_rnn" && cell != "lstm" && !gru) || n.attr_int("has_mask", 0) != 0 ||
        n.inputs.size() != 1 || (sequences && n.attr_int("return_state", 0) != 0))
      return nullptr;
    const RnnGateKind kind = cell == "simple_rnn" ? RnnGateKind::kSimple
                             : cell == "lstm"     ? RnnGateKind::kLstm
                                                  : RnnGateKind::kGruResetAfter;
    return std::make_unique<CudaRnn>(n, kind, cell == "simple_rnn" ? 1 : cell == "lstm" ? 4 : 3);
  };
}

}  // namespace tfjs_infer
