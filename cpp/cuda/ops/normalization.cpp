// "batch_norm" (one that was not folded into a conv/dense: a per-channel
// affine with the CPU op's float64-derived scale and shift) and "layer_norm"
// (over any contiguous axes) on the GPU.
#include <algorithm>
#include <cmath>

#include "cuda/kernels/elementwise.h"
#include "cuda/kernels/norm.h"
#include "cuda/ops/cuda_op.h"
#include "ops/shape_rules.h"

namespace tfjs_infer {

namespace {

class CudaBatchNorm final : public CudaOp {
 public:
  explicit CudaBatchNorm(const OpNode& node)
      : where_(node.where()), axis_(node.attr_int("axis", -1)) {
    const WeightTensor& mean = node.require_weight("moving_mean", {-1});
    channels_ = mean.shape[0];
    const WeightTensor& var = node.require_weight("moving_variance", {channels_});
    const WeightTensor* gamma = node.weight("gamma");
    const WeightTensor* beta = node.weight("beta");
    const double eps = node.attr_float("epsilon", 1e-3);
    std::vector<float> scale(static_cast<size_t>(channels_)), shift(scale.size());
    for (int64_t c = 0; c < channels_; ++c) {  // as the CPU op (normalization.cpp)
      const double s = (gamma ? gamma->f32[c] : 1.0) / std::sqrt(double(var.f32[c]) + eps);
      scale[c] = static_cast<float>(s);
      shift[c] = static_cast<float>((beta ? beta->f32[c] : 0.0) - mean.f32[c] * s);
    }
    scale_ = upload_floats(scale);
    shift_ = upload_floats(shift);
  }

  void run(const CudaRunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const Shape& s = in[0].shape;
    const int64_t a = positive_axis(axis_, s.size());
    int64_t inner = 1;
    for (size_t d = static_cast<size_t>(a) + 1; d < s.size(); ++d) inner *= s[d];
    cuda::ChannelAffineArgs args;
    args.x = in[0].f32(), args.y = out[0].f32();
    args.scale = dev_f32(scale_), args.shift = dev_f32(shift_);
    args.channels = channels_, args.inner = inner;
    args.outer = channels_ * inner != 0 ? in[0].size() / (channels_ * inner) : 0;
    if (args.outer == 0) return;
    check_launch(cuda::channel_affine_f32(args, ctx.stream), where_);
  }

 private:
  std::string where_;
  int64_t axis_, channels_ = 0;
  CudaBuffer scale_, shift_;
};

class CudaLayerNorm final : public CudaOp {
 public:
  explicit CudaLayerNorm(const OpNode& node)
      : where_(node.where()),
        axes_(node.attr_ints("axes", {-1})),
        eps_(node.attr_float("epsilon", 1e-3)),
        rms_(node.attr_int("rms_scaling", 0) != 0),
        gamma_(upload_optional(node, "gamma")),
        beta_(upload_optional(node, "beta")) {}

  void run(const CudaRunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    if (in[0].size() == 0) return;
    // The normalized axes' span (contiguous: the CPU op's infer checked);
    // gamma and beta indexed by the position in len.
    const AxesSpan span = axes_span_sizes(axes_, in[0].shape);
    cuda::SpanNormArgs a;
    a.kind = rms_ ? cuda::SpanNormKind::kLayerRms : cuda::SpanNormKind::kLayer;
    a.x = in[0].f32(), a.y = out[0].f32();
    a.gamma = dev_f32(gamma_);
    a.beta = rms_ ? nullptr : dev_f32(beta_);
    a.outer = span.outer, a.len = span.len, a.inner = span.inner;
    a.eps = eps_;
    check_launch(cuda::span_norm_f32(a, ctx.stream), where_);
  }

 private:
  std::string where_;
  std::vector<int64_t> axes_;
  double eps_;
  bool rms_;
  CudaBuffer gamma_, beta_;
};

}  // namespace

void register_cuda_normalization_ops(CudaOpRegistry& r) {
  r["batch_norm"] = [](const OpNode& n) -> CudaOpPtr { return std::make_unique<CudaBatchNorm>(n); };
  r["layer_norm"] = [](const OpNode& n) -> CudaOpPtr { return std::make_unique<CudaLayerNorm>(n); };
}

}  // namespace tfjs_infer
