// Op "conv_lstm2d": the recurrence of a ConvLSTM2D layer, after the input
// convolution (a "conv2d" op over all steps, bias included, which the frontend
// emits before this op).
//
// Inputs: xw (N, T, H, W, 4F), the input convolution of every step; then,
// optionally, the initial states h0, c0 (N, H, W, F).
// Outputs: y ((N, T, H, W, F) with return_sequences, else (N, H, W, F)); then
// the final h and c when return_state = 1.
// Attributes: filters F, kernel_size [kh, kw] of the recurrent kernel,
// activation/act_*, recurrent_activation/ract_*, go_backwards,
// return_sequences, return_state.
// Weights: recurrent_kernel (kh, kw, F, 4F), gate blocks i f c o.
//
// Each step: im2col of h with 'same' padding, stride 1, no dilation (as TF.js
// and Keras convolve the state), one GEMM with the step's input convolution as
// the residual, then the LSTM gate kernel over the H*W pixels. Batch rows run
// on their own threads, every step; a pixel's result does not depend on the
// batch size or the thread count.
#include <algorithm>
#include <cstring>

#include "core/threading.h"
#include "ops/activation.h"
#include "ops/gemm_driver.h"
#include "ops/registry.h"
#include "ops/shape_rules.h"

namespace tfjs_infer {

namespace {

int64_t align16(int64_t n) { return (n + 15) / 16 * 16; }

class ConvLstmOp final : public Op {
 public:
  ConvLstmOp(const OpNode& node, const KernelTable& k) : Op(node) {
    filters_ = node.attr_int("filters");
    const std::vector<int64_t> ks = node.attr_ints("kernel_size");
    if (filters_ < 1 || ks.size() != 2 || ks[0] < 1 || ks[1] < 1 || ks[0] > 4096 || ks[1] > 4096)
      fail(ErrorKind::kInvalidModel, where() + ": bad filters or kernel_size");
    kh_ = ks[0];
    kw_ = ks[1];
    act_ = parse_cell_activation(node, "activation", "act", "tanh");
    ract_ = parse_cell_activation(node, "recurrent_activation", "ract", "sigmoid");
    go_backwards_ = node.attr_int("go_backwards", 0) != 0;
    return_sequences_ = node.attr_int("return_sequences", 0) != 0;
    return_state_ = node.attr_int("return_state", 0) != 0;
    node.require_inputs(1, 3);
    if (node.inputs.size() == 2)
      fail(ErrorKind::kInvalidModel, where() + ": expected both initial states (h, c) or none");
    has_states_ = node.inputs.size() == 3;
    const WeightTensor& rec =
        node.require_weight("recurrent_kernel", {kh_, kw_, filters_, 4 * filters_});
    depth_ = kh_ * kw_ * filters_;
    packed_.pack(k, rec.f32.data(), depth_, 4 * filters_);
  }

  std::vector<ValueType> infer(const std::vector<ValueType>& in) const override {
    const Shape& s = in[0].shape;
    if (s.size() != 5 || !dims_fit(s[4], 4 * filters_) || in[0].dtype != DType::kFloat32)
      shape_error("expected the input convolution of shape (batch, steps, h, w, " +
                  std::to_string(4 * filters_) + "), received " + shape_str(s));
    if (known(s[1]) && s[1] < 1) shape_error("the input has no time steps: " + shape_str(s));
    const Shape state = {s[0], s[2], s[3], filters_};
    for (size_t i = 1; i < in.size(); ++i)
      if (!shapes_fit(in[i].shape, state) || in[i].dtype != DType::kFloat32)
        shape_error("expected initial states of shape " + shape_str(state) + ", received " +
                    shape_str(in[i].shape));
    std::vector<ValueType> out;
    out.push_back(
        {return_sequences_ ? Shape{s[0], s[1], s[2], s[3], filters_} : state, DType::kFloat32});
    if (return_state_) {
      out.push_back({state, DType::kFloat32});
      out.push_back({state, DType::kFloat32});
    }
    return out;
  }

  size_t scratch_bytes(const std::vector<ValueType>& in) const override {
    const Shape& s = in[0].shape;
    return static_cast<size_t>(s[0] * per_row(s[2] * s[3])) * sizeof(float);
  }

  void run(const RunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const int64_t n = in[0].shape[0], steps = in[0].shape[1];
    const int64_t h = in[0].shape[2], w = in[0].shape[3];
    if (n == 0 || h == 0 || w == 0) return;
    const int64_t flops = 2 * n * steps * h * w * depth_ * 4 * filters_;
    const int threads = threads_for(ctx.num_threads, flops, n);
    parallel_for(n, threads, [&](int64_t r) { run_row(ctx, in, out, r, h, w); });
  }

 private:
  int64_t per_row(int64_t pixels) const {
    // h, c, im2col, gate pre-activations
    return align16(pixels * filters_) * 2 + align16(pixels * depth_) +
           align16(pixels * 4 * filters_);
  }

  // im2col of the state h (H, W, F) for a kh x kw 'same' convolution, stride 1.
  void im2col(const float* hs, int64_t h, int64_t w, float* col) const {
    const int64_t f = filters_;
    const int64_t pt = (kh_ - 1) / 2, pl = (kw_ - 1) / 2;  // TF: the odd pixel goes after
    for (int64_t y = 0; y < h; ++y) {
      for (int64_t x = 0; x < w; ++x) {
        float* dst = col + (y * w + x) * depth_;
        for (int64_t i = 0; i < kh_; ++i) {
          const int64_t sy = y - pt + i;
          for (int64_t j = 0; j < kw_; ++j, dst += f) {
            const int64_t sx = x - pl + j;
            if (sy < 0 || sy >= h || sx < 0 || sx >= w)
              std::fill_n(dst, f, 0.0f);
            else
              std::memcpy(dst, hs + (sy * w + sx) * f, static_cast<size_t>(f) * 4);
          }
        }
      }
    }
  }

  void run_row(const RunContext& ctx, const std::vector<TensorView>& in,
               const std::vector<TensorView>& out, int64_t r, int64_t h, int64_t w) const {
    const KernelTable& k = *ctx.kernels;
    const int64_t steps = in[0].shape[1], f = filters_, px = h * w, state = px * f;
    float* base = static_cast<float*>(ctx.scratch) + r * per_row(px);
    float* hs = base;
    float* cs = hs + align16(state);
    float* col = cs + align16(state);
    float* pre = col + align16(px * depth_);
    if (has_states_) {
      std::memcpy(hs, in[1].f32() + r * state, static_cast<size_t>(state) * 4);
      std::memcpy(cs, in[2].f32() + r * state, static_cast<size_t>(state) * 4);
    } else {
      std::fill_n(hs, state, 0.0f);
      std::fill_n(cs, state, 0.0f);
    }
    RnnGateArgs ga;
    ga.kind = RnnGateKind::kLstm;
    ga.m = px;
    ga.units = f;
    ga.act = act_;
    ga.ract = ract_;
    ga.pre = pre;
    ga.ldp = 4 * f;
    ga.h = hs;
    ga.ldh = f;
    ga.c = cs;
    ga.ldc = f;
    for (int64_t s = 0; s < steps; ++s) {
      const int64_t t = go_backwards_ ? steps - 1 - s : s;
      im2col(hs, h, w, col);
      GemmCall g;
      g.m = px;
      g.a = col;
      g.lda = depth_;
      g.c = pre;
      g.ldc = 4 * f;
      g.ep.residual = in[0].f32() + (r * steps + t) * px * 4 * f;
      g.ep.ldr = 4 * f;
      gemm_run(k, packed_, g);
      k.rnn_gates_f32(ga);
      if (return_sequences_)
        std::memcpy(out[0].f32() + (r * steps + s) * state, hs, static_cast<size_t>(state) * 4);
    }
    if (!return_sequences_)
      std::memcpy(out[0].f32() + r * state, hs, static_cast<size_t>(state) * 4);
    if (return_state_) {
      std::memcpy(out[1].f32() + r * state, hs, static_cast<size_t>(state) * 4);
      std::memcpy(out[2].f32() + r * state, cs, static_cast<size_t>(state) * 4);
    }
  }

  int64_t filters_ = 0, kh_ = 1, kw_ = 1, depth_ = 0;
  ActParams act_, ract_;
  bool go_backwards_ = false, return_sequences_ = false, return_state_ = false;
  bool has_states_ = false;
  PackedMatrix packed_;
};

}  // namespace

void register_conv_lstm_ops(OpRegistry& r) {
  r["conv_lstm2d"] = [](const OpNode& n, const KernelTable& k) {
    return std::make_unique<ConvLstmOp>(n, k);
  };
}

}  // namespace tfjs_infer
