// "pad" (zero padding and cropping of any non-batch axes in one op) and
// "upsample" (each element repeated along each non-batch axis) on the GPU, as
// the CPU's ops/pad.cpp: one thread per output element (cuda/kernels/resize.cu).
#include "cuda/kernels/resize.h"
#include "cuda/ops/cuda_op.h"

namespace tfjs_infer {

namespace {

class CudaPad final : public CudaOp {
 public:
  explicit CudaPad(const OpNode& node) : where_(node.where()), begin_(node.attr_ints("begin")) {}

  void run(const CudaRunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    cuda::PadArgs p;
    p.rank = static_cast<int32_t>(in[0].shape.size());
    for (int d = 0; d < p.rank; ++d) {
      p.in_dims[d] = in[0].shape[d];
      p.out_dims[d] = out[0].shape[d];
      p.begin[d] = d == 0 ? 0 : begin_[d - 1];  // the batch axis is never padded
    }
    p.x = static_cast<const float*>(in[0].data);
    p.y = static_cast<float*>(out[0].data);
    check_launch(cuda::pad_f32(p, ctx.stream), where_);
  }

 private:
  std::string where_;
  Shape begin_;
};

class CudaUpsample final : public CudaOp {
 public:
  explicit CudaUpsample(const OpNode& node)
      : where_(node.where()), repeats_(node.attr_ints("repeats")) {}

  void run(const CudaRunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    cuda::RepeatArgs r;
    r.rank = static_cast<int32_t>(in[0].shape.size());
    for (int d = 0; d < r.rank; ++d) {
      r.in_dims[d] = in[0].shape[d];
      r.repeat[d] = d == 0 ? 1 : repeats_[d - 1];
    }
    r.x = static_cast<const float*>(in[0].data);
    r.y = static_cast<float*>(out[0].data);
    check_launch(cuda::repeat_f32(r, ctx.stream), where_);
  }

 private:
  std::string where_;
  Shape repeats_;
};

// Rank (the batch axis included) within the kernels' limit.
bool fits(const OpNode& node, const char* key) {
  return node.attr_ints(key).size() + 1 <= static_cast<size_t>(cuda::kMaxRank);
}

}  // namespace

void register_cuda_pad_ops(CudaOpRegistry& r) {
  r["pad"] = [](const OpNode& n) -> CudaOpPtr {
    return fits(n, "begin") ? std::make_unique<CudaPad>(n) : nullptr;
  };
  r["upsample"] = [](const OpNode& n) -> CudaOpPtr {
    return fits(n, "repeats") ? std::make_unique<CudaUpsample>(n) : nullptr;
  };
}

}  // namespace tfjs_infer
