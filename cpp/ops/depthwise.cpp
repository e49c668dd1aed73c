// Ops "depthwise_conv1d" and "depthwise_conv2d": each input channel convolved
// with its own depth_multiplier filters, output channel c * dm + m (TF's
// depthwise ordering), bias and activation fused, through the direct SIMD
// kernel k.depthwise_f32 (no GEMM: one multiply-add per tap and channel).
//
// attrs: strides, dilations, padding ('valid' | 'same' | 'causal' in 1D),
//        depth_multiplier (default 1), the activation attrs.
// weights: kernel (k..., cin * dm): Keras's (k..., cin, dm) with its last two
//          axes merged (same memory order), so the last axis is the output
//          channel and passes.cpp can fold a following BatchNorm into it;
//          bias (cin * dm) optional.
#include <algorithm>

#include "core/threading.h"
#include "ops/activation.h"
#include "ops/conv_geometry.h"
#include "ops/registry.h"
#include "ops/weights.h"
#include "ops/shape_rules.h"

namespace tfjs_infer {

namespace {

class DepthwiseOp final : public Op {
 public:
  DepthwiseOp(const OpNode& node, const KernelTable&, int rank)
      : Op(node), act_(parse_activation(node)) {
    node.require_inputs(1, 1);
    Shape want(static_cast<size_t>(rank + 1), -1);
    const WeightTensor& kernel = node.require_weight("kernel", want);
    const std::vector<int64_t> ksize(kernel.shape.begin(), kernel.shape.begin() + rank);
    geo_ = parse_conv_geometry(node, rank, ksize, /*allow_causal=*/true);
    dm_ = node.attr_int("depth_multiplier", 1);
    cout_ = kernel.shape.back();
    if (dm_ < 1 || cout_ < 1 || cout_ % dm_ != 0)
      fail(ErrorKind::kInvalidModel, where() + ": kernel shape " + shape_str(kernel.shape) +
                                         " does not fit depth_multiplier " + std::to_string(dm_));
    cin_ = cout_ / dm_;
    weights_.reset(kernel.f32.size());
    kernel.copy_values(weights_.data());
    copy_bias(node, "bias", cout_, bias_);
    fused_ = act_.params;
    if (!depthwise_fuses(fused_.kind)) fused_.kind = ActKind::kLinear;
  }

  std::vector<ValueType> infer(const std::vector<ValueType>& in) const override {
    const Shape& s = in[0].shape;
    const std::string problem = conv_input_problem(in[0], geo_.rank, cin_);
    if (!problem.empty()) shape_error(problem);
    Shape o = s;
    const auto dims = spatial_dims(s, geo_.rank);
    for (int i = 1; i < 3; ++i) {
      if (i < 3 - geo_.rank) continue;
      const int64_t n = geo_.out_size(i, dims[i]);
      if (known(n) && n < 1)
        shape_error("input " + shape_str(s) + " is smaller than the kernel window (" +
                    std::to_string(geo_.k_eff(i)) + ") along a spatial axis with 'valid' padding");
      o[static_cast<size_t>(1 + i - (3 - geo_.rank))] = n;
    }
    o.back() = cout_;
    return {{o, DType::kFloat32}};
  }

  // With a depth multiplier the input is first widened to cin * dm channels
  // (channel c repeated dm times), so the kernel sees one filter per channel.
  size_t scratch_bytes(const std::vector<ValueType>& in) const override {
    if (dm_ == 1) return 0;
    return static_cast<size_t>(num_elements(in[0].shape) * dm_) * 4;
  }

  void run(const RunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const KernelTable& k = *ctx.kernels;
    const int64_t batch = in[0].dim(0);
    const auto di = spatial_dims(in[0].shape, geo_.rank);
    const auto dout = spatial_dims(out[0].shape, geo_.rank);
    const int64_t in_pixels = di[1] * di[2], out_pixels = dout[1] * dout[2];
    if (batch == 0 || out_pixels == 0) return;
    const float* x = in[0].f32();
    if (dm_ > 1) {
      float* wide = static_cast<float*>(ctx.scratch);
      const int64_t pixels = batch * in_pixels;
      const int t = threads_for(ctx.num_threads, pixels * cout_, pixels);
      parallel_for(t, t, [&](int64_t task) {
        for (int64_t p = pixels * task / t; p < pixels * (task + 1) / t; ++p)
          for (int64_t c = 0; c < cin_; ++c)
            for (int64_t m = 0; m < dm_; ++m) wide[(p * cin_ + c) * dm_ + m] = x[p * cin_ + c];
      });
      x = wide;
    }
    DepthwiseArgs base;
    base.w = weights_.data();
    base.bias = bias_.size() ? bias_.data() : nullptr;
    base.in_h = di[1];
    base.in_w = di[2];
    base.c = cout_;
    base.out_h = dout[1];
    base.out_w = dout[2];
    base.kh = geo_.k[1];
    base.kw = geo_.k[2];
    base.stride_h = geo_.s[1];
    base.stride_w = geo_.s[2];
    base.dil_h = geo_.d[1];
    base.dil_w = geo_.d[2];
    base.pad_top = geo_.pad_before(1, di[1]);
    base.pad_left = geo_.pad_before(2, di[2]);
    base.act = fused_;
    // Tasks are blocks of (image, output row) pairs.
    const int64_t rows = batch * dout[1];
    const int64_t work = 2 * batch * out_pixels * cout_ * geo_.kernel_volume();
    const int threads = threads_for(ctx.num_threads, work, rows);
    // A few blocks per thread, so a worker that wakes late takes fewer.
    const int64_t tasks = threads == 1 ? 1 : std::min<int64_t>(rows, 4 * threads);
    float* y = out[0].f32();
    parallel_for(tasks, threads, [&](int64_t t) {
      const int64_t r0 = rows * t / tasks, r1 = rows * (t + 1) / tasks;
      for (int64_t r = r0; r < r1;) {
        const int64_t img = r / dout[1];
        const int64_t row_end = std::min(r1, (img + 1) * dout[1]);
        DepthwiseArgs a = base;
        a.x = x + img * in_pixels * cout_;  // cout_ == cin_ unless widened
        a.y = y + img * out_pixels * cout_;
        a.row_begin = r - img * dout[1];
        a.row_end = row_end - img * dout[1];
        k.depthwise_f32(a);
        float* done = a.y + a.row_begin * dout[2] * cout_;
        const int64_t n = (a.row_end - a.row_begin) * dout[2];
        if (!depthwise_fuses(act_.params.kind)) k.activation_f32(act_.params, done, n * cout_);
        if (act_.row_op != RowOp::kNone)
          k.softmax_f32(done, n, cout_, act_.row_op == RowOp::kLogSoftmax ? 1 : 0);
        r = row_end;
      }
    });
  }

 private:
  ConvGeometry geo_;
  Activation act_;
  ActParams fused_;  // the part of act_ the kernel applies
  int64_t dm_ = 1, cin_ = 0, cout_ = 0;
  Buffer<float> weights_;
  Buffer<float> bias_;
};

template <int Rank>
OpFactory depthwise_factory() {
  return [](const OpNode& n, const KernelTable& k) {
    return std::make_unique<DepthwiseOp>(n, k, Rank);
  };
}

}  // namespace

void register_depthwise_ops(OpRegistry& r) {
  // An activation and a BatchNorm fold in (no residual input), a Pad too.
  OpTraits t;
  t.fuses_activation = t.folds_batch_norm = true;
  t.pad_fold_rank = 1;
  r["depthwise_conv1d"] = OpEntry(depthwise_factory<1>(), t);
  t.pad_fold_rank = 2;
  r["depthwise_conv2d"] = OpEntry(depthwise_factory<2>(), t);
}

}  // namespace tfjs_infer
