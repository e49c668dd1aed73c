// The mask helpers of recurrent models on the GPU, as the CPU's
// ops/sequence_ops.cpp: "not_equal_mask", "masking", "ones_mask",
// "fill_like", "masked_mean", "reduce_mask", and "time_fold" / "time_unfold"
// (TimeDistributed's reshapes: one device-to-device copy).
#include "cuda/kernels/sequence.h"
#include "cuda/ops/cuda_op.h"

namespace tfjs_infer {

namespace {

class CudaNotEqualMask final : public CudaOp {
 public:
  explicit CudaNotEqualMask(const OpNode& node)
      : where_(node.where()), value_(node.attr_float("value", 0.0)) {}

  void run(const CudaRunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    cuda::NotEqualMaskArgs a;
    if (in[0].dtype == DType::kInt32)
      a.x_i32 = in[0].i32();
    else
      a.x_f32 = in[0].f32();
    a.y = out[0].f32(), a.n = in[0].size(), a.value = value_;
    check_launch(cuda::not_equal_mask_f32(a, ctx.stream), where_);
  }

 private:
  std::string where_;
  double value_;
};

class CudaMasking final : public CudaOp {
 public:
  explicit CudaMasking(const OpNode& node)
      : where_(node.where()),
        value_(static_cast<float>(node.attr_float("mask_value", 0.0))),
        select_(node.attr_int("select", 0) != 0) {}

  void run(const CudaRunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    cuda::MaskingArgs a;
    a.x = in[0].f32(), a.y = out[0].f32(), a.mask = out[1].f32();
    a.f = in[0].shape.back();
    a.rows = a.f ? in[0].size() / a.f : 0;
    a.value = value_, a.select = select_ ? 1 : 0;
    check_launch(cuda::masking_f32(a, ctx.stream), where_);
  }

 private:
  std::string where_;
  float value_;
  bool select_;
};

// Output 0 filled with one value: ones_mask (1) and fill_like (attr value).
class CudaFill final : public CudaOp {
 public:
  CudaFill(const OpNode& node, float value) : where_(node.where()), value_(value) {}

  void run(const CudaRunContext& ctx, const std::vector<TensorView>&,
           const std::vector<TensorView>& out) const override {
    check_launch(cuda::fill_f32(out[0].f32(), out[0].size(), value_, ctx.stream), where_);
  }

 private:
  std::string where_;
  float value_;
};

class CudaMaskedMean final : public CudaOp {
 public:
  explicit CudaMaskedMean(const OpNode& node) : where_(node.where()) {}

  void run(const CudaRunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    cuda::MaskedMeanArgs a;
    a.x = in[0].f32(), a.mask = in[1].f32(), a.y = out[0].f32();
    a.n = in[0].shape[0], a.steps = in[0].shape[1], a.f = in[0].shape[2];
    check_launch(cuda::masked_mean_f32(a, ctx.stream), where_);
  }

 private:
  std::string where_;
};

class CudaReduceMask final : public CudaOp {
 public:
  explicit CudaReduceMask(const OpNode& node)
      : where_(node.where()), axis_(node.attr_int("axis", -1)), all_(node.attr_int("all", 0)) {}

  void run(const CudaRunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const Shape& s = in[0].shape;
    const int64_t rank = static_cast<int64_t>(s.size());
    const int64_t axis = axis_ < 0 ? axis_ + rank : axis_;  // checked by the CPU op's infer
    cuda::ReduceMaskArgs a;
    if (in[0].dtype == DType::kInt32)
      a.x_i32 = in[0].i32();
    else
      a.x_f32 = in[0].f32();
    a.y = out[0].f32(), a.all = all_ != 0 ? 1 : 0;
    a.outer = 1, a.len = s[static_cast<size_t>(axis)];
    for (int64_t d = 0; d < axis; ++d) a.outer *= s[static_cast<size_t>(d)];
    for (int64_t d = axis + 1; d < rank; ++d) a.inner *= s[static_cast<size_t>(d)];
    check_launch(cuda::reduce_mask_f32(a, ctx.stream), where_);
  }

 private:
  std::string where_;
  int64_t axis_, all_;
};

}  // namespace

void register_cuda_sequence_ops(CudaOpRegistry& r) {
  r["not_equal_mask"] = [](const OpNode& n) -> CudaOpPtr {
    return std::make_unique<CudaNotEqualMask>(n);
  };
  r["masking"] = [](const OpNode& n) -> CudaOpPtr { return std::make_unique<CudaMasking>(n); };
  r["ones_mask"] = [](const OpNode& n) -> CudaOpPtr { return std::make_unique<CudaFill>(n, 1.0f); };
  r["fill_like"] = [](const OpNode& n) -> CudaOpPtr {
    return std::make_unique<CudaFill>(n, static_cast<float>(n.attr_float("value", 0.0)));
  };
  r["masked_mean"] = [](const OpNode& n) -> CudaOpPtr {
    return std::make_unique<CudaMaskedMean>(n);
  };
  r["reduce_mask"] = [](const OpNode& n) -> CudaOpPtr {
    return std::make_unique<CudaReduceMask>(n);
  };
  // (N, T, ...) <-> (N*T, ...): the data does not move.
  r["time_fold"] = [](const OpNode&) -> CudaOpPtr { return make_cuda_copy("time fold"); };
  r["time_unfold"] = [](const OpNode&) -> CudaOpPtr { return make_cuda_copy("time unfold"); };
}

}  // namespace tfjs_infer
