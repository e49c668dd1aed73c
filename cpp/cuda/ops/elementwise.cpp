// Merges ("add", "sub", "mul", "max", "min", "mean") with Keras's broadcasting
// on the GPU: one launch per input, the first copied (broadcast) into the
// output, each next one combined into it, mean scaled on the last step.
// "prelu" (alpha broadcast over a row into scratch, then one launch) and
// "scale_shift" (Rescaling: a per-channel affine over the last axis).
#include <algorithm>

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

// Row-major broadcast strides of `from` (size-1 axes: 0) over dims `to` of
// the same rank, into m's out_dims / x_strides.
void broadcast_into(const Shape& from, const Shape& to, cuda::MergeArgs* m) {
  m->rank = static_cast<int32_t>(std::max<size_t>(to.size(), 1));
  int64_t acc = 1;
  for (size_t d = to.size(); d-- > 0;) {
    m->out_dims[d] = to[d];
    m->x_strides[d] = from[d] == 1 && to[d] != 1 ? 0 : acc;
    acc *= from[d];
  }
  if (to.empty()) m->out_dims[0] = 1, m->x_strides[0] = 1;
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
      broadcast_into(s, os, &m);
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

// y = x >= 0 ? x : alpha * x, alpha (the row's shape, size-1 axes shared)
// first broadcast to one whole row in scratch.
class CudaPrelu final : public CudaOp {
 public:
  explicit CudaPrelu(const OpNode& node) : where_(node.where()) {
    const WeightTensor& a = *node.weight("alpha");  // the factory checked it
    alpha_shape_ = a.shape;
    alpha_ = upload_weight(a);
  }

  size_t scratch_bytes(const std::vector<ValueType>& in) const override {
    return static_cast<size_t>(num_elements(Shape(in[0].shape.begin() + 1, in[0].shape.end()))) * 4;
  }

  void run(const CudaRunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const Shape row(in[0].shape.begin() + 1, in[0].shape.end());
    const int64_t per_row = num_elements(row);
    if (in[0].size() == 0 || per_row == 0) return;
    float* full = static_cast<float*>(ctx.scratch);
    cuda::MergeArgs m;
    m.kind = cuda::MergeKind::kCopy;
    broadcast_into(alpha_shape_, row, &m);
    m.x = dev_f32(alpha_), m.y = full;
    check_launch(cuda::merge_f32(m, ctx.stream), where_);
    cuda::PreluArgs p;
    p.x = in[0].f32(), p.y = out[0].f32(), p.alpha = full;
    p.rows = in[0].shape[0], p.per_row = per_row;
    check_launch(cuda::prelu_f32(p, ctx.stream), where_);
  }

 private:
  std::string where_;
  Shape alpha_shape_;
  CudaBuffer alpha_;
};

// y = float(x) * scale + offset (two roundings) per channel of the last axis;
// a scalar scale or offset beside a per-channel one is repeated at load.
class CudaScaleShift final : public CudaOp {
 public:
  explicit CudaScaleShift(const OpNode& node) : where_(node.where()) {
    const std::vector<double> scale = node.attr_floats("scale");
    const std::vector<double> offset = node.attr_floats("offset");
    channels_ = static_cast<int64_t>(std::max(scale.size(), offset.size()));
    auto expand = [this](const std::vector<double>& v) {
      std::vector<float> f(static_cast<size_t>(channels_));
      for (size_t c = 0; c < f.size(); ++c) f[c] = static_cast<float>(v.size() == 1 ? v[0] : v[c]);
      return upload_floats(f);
    };
    scale_ = expand(scale);
    shift_ = expand(offset);
  }

  void run(const CudaRunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    if (in[0].size() == 0) return;
    cuda::ChannelAffineArgs a;
    if (in[0].dtype == DType::kInt32)
      a.x_i32 = in[0].i32();
    else
      a.x = in[0].f32();
    a.y = out[0].f32(), a.scale = dev_f32(scale_), a.shift = dev_f32(shift_);
    a.channels = channels_, a.inner = 1, a.outer = in[0].size() / channels_;
    check_launch(cuda::channel_affine_f32(a, ctx.stream), where_);
  }

 private:
  std::string where_;
  int64_t channels_ = 1;
  CudaBuffer scale_, shift_;
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
  r["prelu"] = [](const OpNode& n) -> CudaOpPtr {
    if (!n.weight("alpha") ||
        n.weight("alpha")->shape.size() >= static_cast<size_t>(cuda::kMaxRank))
      return nullptr;
    return std::make_unique<CudaPrelu>(n);
  };
  r["scale_shift"] = [](const OpNode& n) -> CudaOpPtr {
    return std::make_unique<CudaScaleShift>(n);
  };
}

}  // namespace tfjs_infer
