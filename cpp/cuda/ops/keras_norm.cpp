// Keras 3's normalization layers on the GPU, as the CPU ops
// (ops/keras_norm.cpp): "group_norm" (the channel axis split into groups,
// statistics over every non-batch element of a group), "rms_norm" and
// "unit_norm" over contiguous "axes" (cuda/kernels/norm.cu, float64 sums in
// the CPU's order).
#include <algorithm>

#include "cuda/kernels/norm.h"
#include "cuda/ops/cuda_op.h"
#include "ops/shape_rules.h"

namespace tfjs_infer {

namespace {

class CudaGroupNorm final : public CudaOp {
 public:
  explicit CudaGroupNorm(const OpNode& node)
      : where_(node.where()),
        axis_(node.attr_int("axis", -1)),
        groups_(node.attr_int("groups")),
        eps_(node.attr_float("epsilon", 1e-3)),
        gamma_(upload_optional(node, "gamma")),
        beta_(upload_optional(node, "beta")) {}

  void run(const CudaRunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    if (in[0].size() == 0) return;
    const Shape& s = in[0].shape;
    const size_t axis = static_cast<size_t>(positive_axis(axis_, s.size()));
    cuda::GroupNormArgs g;
    g.x = in[0].f32(), g.y = out[0].f32(), g.gamma = dev_f32(gamma_), g.beta = dev_f32(beta_);
    g.n = s[0], g.c = s[axis], g.groups = groups_, g.eps = eps_;
    for (size_t d = 1; d < axis; ++d) g.pre *= s[d];
    for (size_t d = axis + 1; d < s.size(); ++d) g.post *= s[d];
    check_launch(cuda::group_norm_f32(g, ctx.stream), where_);
  }

 private:
  std::string where_;
  int64_t axis_, groups_;
  double eps_;
  CudaBuffer gamma_, beta_;
};

class CudaSpanNorm final : public CudaOp {
 public:
  CudaSpanNorm(const OpNode& node, cuda::SpanNormKind kind)
      : where_(node.where()),
        kind_(kind),
        axes_(node.attr_ints("axes", {-1})),
        eps_(node.attr_float("epsilon", 1e-6)),
        scale_(upload_optional(node, "scale")) {}

  void run(const CudaRunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    if (in[0].size() == 0) return;
    // The normalized axes' span (contiguous: the CPU op's infer checked).
    const AxesSpan span = axes_span_sizes(axes_, in[0].shape);
    cuda::SpanNormArgs a;
    a.kind = kind_;
    a.x = in[0].f32(), a.y = out[0].f32(), a.gamma = dev_f32(scale_);
    a.outer = span.outer, a.len = span.len, a.inner = span.inner, a.eps = eps_;
    check_launch(cuda::span_norm_f32(a, ctx.stream), where_);
  }

 private:
  std::string where_;
  cuda::SpanNormKind kind_;
  std::vector<int64_t> axes_;
  double eps_;
  CudaBuffer scale_;
};

}  // namespace

void register_cuda_keras_norm_ops(CudaOpRegistry& r) {
  r["group_norm"] = [](const OpNode& n) -> CudaOpPtr { return std::make_unique<CudaGroupNorm>(n); };
  r["rms_norm"] = [](const OpNode& n) -> CudaOpPtr {
    return std::make_unique<CudaSpanNorm>(n, cuda::SpanNormKind::kRms);
  };
  r["unit_norm"] = [](const OpNode& n) -> CudaOpPtr {
    return std::make_unique<CudaSpanNorm>(n, cuda::SpanNormKind::kUnit);
  };
}

}  // namespace tfjs_infer
