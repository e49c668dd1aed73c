// "attention" on the GPU (the core of MultiHeadAttention, Attention and
// AdditiveAttention after their projections): the fused per-query-row kernel
// of cuda/kernels/attention.cu, with the CPU op's attributes (ops/attention.cpp)
// and its masks as further inputs, in the order the attr "masks" names them.
#include <sstream>

#include "cuda/kernels/attention.h"
#include "cuda/ops/cuda_op.h"

namespace tfjs_infer {

namespace {

class CudaAttention final : public CudaOp {
 public:
  CudaAttention(const OpNode& node, std::vector<cuda::AttentionMask> masks)
      : where_(node.where()), masks_(std::move(masks)) {
    a_.heads = node.attr_int("heads", 1);
    a_.kv_heads = node.attr_int("kv_heads", a_.heads);
    a_.scale = static_cast<float>(node.attr_float("scale", 1.0));
    a_.causal = node.attr_int("causal", 0) != 0;
    a_.window = node.attr_int("window", 0);
    a_.zero_masked = node.attr_int("zero_masked", 0) != 0;
    a_.additive = node.attr_str("score", "dot") == "additive";
    a_.add_inner = static_cast<float>(node.attr_float("add_inner", 1.0));
    a_.add_outer = static_cast<float>(node.attr_float("add_outer", 1.0));
    return_scores_ = node.attr_int("return_scores", 0) != 0;
    add_scale_ = upload_optional(node, "add_scale");
  }

  void run(const CudaRunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    cuda::AttentionArgs a = a_;
    a.n = in[0].shape[0], a.tq = in[0].shape[1], a.tk = in[1].shape[1];
    a.dk = in[0].shape[2] / a.heads, a.dv = in[2].shape[2] / a.kv_heads;
    a.q = in[0].f32(), a.k = in[1].f32(), a.v = in[2].f32(), a.o = out[0].f32();
    a.scores = return_scores_ ? out[1].f32() : nullptr;
    a.add_scale = dev_f32(add_scale_);
    a.num_masks = static_cast<int32_t>(masks_.size());
    for (size_t m = 0; m < masks_.size(); ++m) {
      const TensorView& t = in[3 + m];
      cuda::AttentionMaskArg& arg = a.masks[m];
      arg.kind = masks_[m];
      if (t.dtype == DType::kInt32)
        arg.i32 = t.i32();
      else
        arg.f32 = t.f32();
      if (arg.kind == cuda::AttentionMask::kFull) arg.dim0 = t.shape[0], arg.dim1 = t.shape[1];
    }
    check_launch(cuda::attention_f32(a, ctx.stream), where_);
  }

 private:
  std::string where_;
  std::vector<cuda::AttentionMask> masks_;
  cuda::AttentionArgs a_;
  bool return_scores_ = false;
  CudaBuffer add_scale_;
};

// The masks the attr names, or false when there are more than the kernel takes.
bool parse_masks(const OpNode& node, std::vector<cuda::AttentionMask>* masks) {
  std::istringstream names(node.attr_str("masks", ""));
  std::string name;
  while (std::getline(names, name, ',')) {
    if (name.empty()) continue;
    masks->push_back(name == "full"    ? cuda::AttentionMask::kFull
                     : name == "query" ? cuda::AttentionMask::kQuery
                     : name == "key"   ? cuda::AttentionMask::kKey
                                       : cuda::AttentionMask::kQueryOut);
  }
  return masks->size() <= static_cast<size_t>(cuda::kMaxAttentionMasks);
}

}  // namespace

void register_cuda_attention_ops(CudaOpRegistry& r) {
  r["attention"] = [](const OpNode& n) -> CudaOpPtr {
    std::vector<cuda::AttentionMask> masks;
    if (!parse_masks(n, &masks)) return nullptr;
    return std::make_unique<CudaAttention>(n, std::move(masks));
  };
}

}  // namespace tfjs_infer
