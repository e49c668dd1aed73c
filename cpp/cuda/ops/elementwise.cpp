// Merges ("add", "sub", "mul", "max", "min", "mean") with Keras's broadcasting
// on the GPU: one launch per input, the first copied (broadcast) into the
// output, each next one combined into it, mean scaled on the last step.
#include "cuda/kernels/elementwise.h"
#include "cuda/ops/cuda_op.h"

namespace tfjs_infer {

namespace {

// Keras merge broadcasting: lower-rank inputs get size-1 axes inserted at
// position 1 until the ranks match (as the CPU op), then NumPy rules.
Shape expand_rank(Shape s, size_t rank) {
  while (s.size() < rank) s.insert(s.begin() + (s.empty() ? 0 : 1), 1);
  return s;
}

class CudaMerge final : public CudaOp {
 public:
  CudaMerge(const OpNode& node, cuda::MergeKind kind, bool mean)
      : where_(node.where()), kind_(kind), mean_(mean) {}

  void run(const CudaRunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const Shape& os = out[0].shape;
    if (out[0].size() == 0) return;
    if (os.size() > static_cast<size_t>(cuda::kMaxRank))
      fail(ErrorKind::kUnsupported, where_ + ": rank above 8 on the GPU");
    for (size_t i = 0; i < in.size(); ++i) {
      const Shape s = expand_rank(in[i].shape, os.size());
      cuda::MergeArgs m;
      m.kind = i == 0 ? cuda::MergeKind::kCopy : kind_;
      m.rank = static_cast<int32_t>(std::max<size_t>(os.size(), 1));
      int64_t acc = 1;
      for (size_t d = os.size(); d-- > 0;) {
        m.out_dims[d] = os[d];
        m.x_strides[d] = s[d] == 1 && os[d] != 1 ? 0 : acc;
        acc *= s[d];
      }
      if (os.empty()) m.out_dims[0] = 1, m.x_strides[0] = 1;
      m.x = in[i].f32(), m.y = out[0].f32();
      // TF.js's mean: the sum times 1/n, on the last step.
      if (mean_ && i + 1 == in.size()) m.post_scale = 1.0f / static_cast<float>(in.size());
      check_launch(cuda::merge_f32(m, ctx.stream), where_);
    }
  }

 private:
  std::string where_;
  cuda::MergeKind kind_;
  bool mean_;
};

CudaOpFactory merge(cuda::MergeKind kind, bool mean = false) {
  return [kind, mean](const OpNode& n) -> CudaOpPtr {
    return std::make_unique<CudaMerge>(n, kind, mean);
  };
}

}  // namespace

void register_cuda_elementwise_ops(CudaOpRegistry& r) {
  r["add"] = merge(cuda::MergeKind::kAdd);
  r["sub"] = merge(cuda::MergeKind::kSub);
  r["mul"] = merge(cuda::MergeKind::kMul);
  r["max"] = merge(cuda::MergeKind::kMax);
  r["min"] = merge(cuda::MergeKind::kMin);
  r["mean"] = merge(cuda::MergeKind::kAdd, /*mean=*/true);
}

}  // namespace tfjs_infer
