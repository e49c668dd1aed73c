// "conv_lstm2d" on the GPU: the recurrence of a ConvLSTM2D layer after its
// input convolution (a conv2d op over all steps), as the CPU op
// (ops/conv_lstm.cpp): per step the step's input convolution is copied into
// the gate buffer, the recurrent 'same' convolution of h (implicit GEMM,
// stride 1) adds onto it as its residual, and the LSTM gate kernel runs over
// every (image, pixel) row. The sums are the CPU's im2col GEMM's, in order.
#include "cuda/kernels/gemm.h"
#include "cuda/kernels/rnn.h"
#include "cuda/ops/cuda_op.h"
#include "ops/activation.h"

namespace tfjs_infer {

namespace {

constexpr int64_t kAlignFloats = 64;
int64_t align_floats(int64_t n) { return (n + kAlignFloats - 1) / kAlignFloats * kAlignFloats; }

class CudaConvLstm final : public CudaOp {
 public:
  explicit CudaConvLstm(const OpNode& node) : where_(node.where()) {
    filters_ = node.attr_int("filters");
    const std::vector<int64_t> ks = node.attr_ints("kernel_size");
    kh_ = ks[0], kw_ = ks[1];
    act_ = parse_cell_activation(node, "activation", "act", "tanh");
    ract_ = parse_cell_activation(node, "recurrent_activation", "ract", "sigmoid");
    go_backwards_ = node.attr_int("go_backwards", 0) != 0;
    return_sequences_ = node.attr_int("return_sequences", 0) != 0;
    return_state_ = node.attr_int("return_state", 0) != 0;
    has_states_ = node.inputs.size() == 3;
    recurrent_ =
        upload_weight(node.require_weight("recurrent_kernel", {kh_, kw_, filters_, 4 * filters_}));
  }

  size_t scratch_bytes(const std::vector<ValueType>& in) const override {
    const Shape& s = in[0].shape;
    const int64_t rows = s[0] * s[2] * s[3];
    return static_cast<size_t>(2 * align_floats(rows * filters_) +
                               align_floats(rows * 4 * filters_)) *
           sizeof(float);
  }

  void run(const CudaRunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const Shape& s = in[0].shape;
    const int64_t n = s[0], steps = s[1], h = s[2], w = s[3], f = filters_;
    if (n == 0 || h == 0 || w == 0) return;
    const int64_t state = h * w * f, gates = h * w * 4 * f;
    float* hs = static_cast<float*>(ctx.scratch);
    float* cs = hs + align_floats(n * state);
    float* pre = cs + align_floats(n * state);
    const size_t state_bytes = static_cast<size_t>(n * state) * 4;
    if (has_states_) {
      copy(ctx, hs, in[1].f32(), state_bytes);
      copy(ctx, cs, in[2].f32(), state_bytes);
    } else {
      check_cuda(cudaMemsetAsync(hs, 0, state_bytes, ctx.stream), "cudaMemsetAsync (conv_lstm)");
      check_cuda(cudaMemsetAsync(cs, 0, state_bytes, ctx.stream), "cudaMemsetAsync (conv_lstm)");
    }
    cuda::ConvArgs conv;
    conv.x = hs, conv.w = dev_f32(recurrent_), conv.residual = pre, conv.y = pre;
    conv.n = n, conv.in_h = h, conv.in_w = w, conv.cin = f;
    conv.out_h = h, conv.out_w = w, conv.cout = 4 * f, conv.kh = kh_, conv.kw = kw_;
    conv.pad_top = (kh_ - 1) / 2, conv.pad_left = (kw_ - 1) / 2;  // 'same': the odd one after
    RnnGateArgs ga;
    ga.kind = RnnGateKind::kLstm;
    ga.m = n * h * w, ga.units = f, ga.act = act_, ga.ract = ract_;
    ga.pre = pre, ga.ldp = 4 * f, ga.h = hs, ga.ldh = f, ga.c = cs, ga.ldc = f;
    for (int64_t step = 0; step < steps; ++step) {
      const int64_t t = go_backwards_ ? steps - 1 - step : step;
      // The step's input convolution of every image, then + h (*) U in place.
      rows_2d(ctx, pre, gates, in[0].f32() + t * gates, steps * gates, gates, n);
      check_launch(cuda::conv2d_f32(conv, ctx.stream), where_);
      check_launch(cuda::rnn_gates_f32(ga, ctx.stream), where_);
      if (return_sequences_)
        rows_2d(ctx, out[0].f32() + step * state, steps * state, hs, state, state, n);
    }
    if (!return_sequences_) copy(ctx, out[0].f32(), hs, state_bytes);
    if (return_state_) {
      copy(ctx, out[1].f32(), hs, state_bytes);
      copy(ctx, out[2].f32(), cs, state_bytes);
    }
  }

 private:
  // `rows` rows of `width` floats, from src (rows src_pitch floats apart) to
  // dst (dst_pitch floats apart).
  void rows_2d(const CudaRunContext& ctx, float* dst, int64_t dst_pitch, const float* src,
               int64_t src_pitch, int64_t width, int64_t rows) const {
    check_cuda(cudaMemcpy2DAsync(dst, static_cast<size_t>(dst_pitch) * 4, src,
                                 static_cast<size_t>(src_pitch) * 4, static_cast<size_t>(width) * 4,
                                 static_cast<size_t>(rows), cudaMemcpyDeviceToDevice, ctx.stream),
               "cudaMemcpy2DAsync (conv_lstm)");
  }

  void copy(const CudaRunContext& ctx, float* dst, const float* src, size_t bytes) const {
    check_cuda(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, ctx.stream),
               "cudaMemcpyAsync (conv_lstm)");
  }

  std::string where_;
  int64_t filters_ = 0, kh_ = 1, kw_ = 1;
  ActParams act_, ract_;
  bool go_backwards_ = false, return_sequences_ = false, return_state_ = false;
  bool has_states_ = false;
  CudaBuffer recurrent_;
};

}  // namespace

void register_cuda_conv_lstm_ops(CudaOpRegistry& r) {
  r["conv_lstm2d"] = [](const OpNode& n) -> CudaOpPtr { return std::make_unique<CudaConvLstm>(n); };
}

}  // namespace tfjs_infer
