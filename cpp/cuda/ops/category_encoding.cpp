// "category_encoding" (CategoryEncoding) on the GPU: multi_hot, count and
// one_hot vectors (cuda/kernels/category_encoding.cu). An id outside
// [0, num_tokens) raises the CPU op's error (ops/category_encoding.cpp): the
// kernel reports the first bad position, read back after one stream sync.
#include "cuda/kernels/category_encoding.h"
#include "cuda/ops/cuda_op.h"

namespace tfjs_infer {

namespace {

class CudaCategoryEncoding final : public CudaOp {
 public:
  explicit CudaCategoryEncoding(const OpNode& node)
      : where_(node.where()), tokens_(node.attr_int("num_tokens")) {
    const std::string mode = node.attr_str("mode");
    one_hot_ = mode == "one_hot";
    count_ = mode == "count";
  }

  size_t scratch_bytes(const std::vector<ValueType>&) const override { return sizeof(int64_t); }

  void run(const CudaRunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const TensorView& ids = in[0];
    cuda::CategoryEncodingArgs a;
    if (ids.dtype == DType::kInt32)
      a.ids_i32 = ids.i32();
    else
      a.ids_f32 = ids.f32();
    a.y = out[0].f32(), a.tokens = tokens_, a.count = count_ ? 1 : 0;
    a.k = one_hot_ || ids.shape.empty() ? 1 : ids.shape.back();
    a.rows = a.k > 0 ? ids.size() / a.k : out[0].size() / tokens_;
    a.bad = static_cast<int64_t*>(ctx.scratch);
    arm_bad_id(a.bad, ctx.stream);
    check_launch(cuda::category_encoding_f32(a, ctx.stream), where_);
    const int64_t bad = first_bad_id(a.bad, ctx.stream);
    if (bad != kNoBadId)
      fail(ErrorKind::kInputValue, where_ + ": value " + id_text_at(ids, bad, ctx.stream) +
                                       " at flat position " + std::to_string(bad) +
                                       " is not in [0, " + std::to_string(tokens_ - 1) +
                                       "] (num_tokens " + std::to_string(tokens_) + ")");
  }

 private:
  std::string where_;
  int64_t tokens_;
  bool one_hot_ = false, count_ = false;
};

}  // namespace

void register_cuda_category_encoding_ops(CudaOpRegistry& r) {
  r["category_encoding"] = [](const OpNode& n) -> CudaOpPtr {
    return std::make_unique<CudaCategoryEncoding>(n);
  };
}

}  // namespace tfjs_infer
