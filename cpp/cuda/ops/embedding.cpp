// "embedding" on the GPU: a gather of table rows by int32 ids (float ids
// truncate toward zero). An id outside the table is an error, as on the CPU
// (ops/embedding.cpp), with the same message: the kernel reports the first
// bad position through a device int64 in the op's scratch, which the op
// reads back after a stream sync (the one sync this op costs).
#include <cmath>
#include <cstdint>
#include <cstring>

#include "cuda/kernels/embedding.h"
#include "cuda/ops/cuda_op.h"

namespace tfjs_infer {

namespace {

constexpr int64_t kNoBadId = INT64_MAX;

class CudaEmbedding final : public CudaOp {
 public:
  explicit CudaEmbedding(const OpNode& node) : where_(node.where()) {
    const WeightTensor& t = node.require_weight("embeddings", {-1, -1});
    rows_ = t.shape[0];
    dim_ = t.shape[1];
    table_ = upload_weight(t);
  }

  size_t scratch_bytes(const std::vector<ValueType>&) const override { return sizeof(int64_t); }

  void run(const CudaRunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    cuda::EmbeddingArgs e;
    e.n = in[0].size(), e.rows = rows_, e.dim = dim_;
    if (in[0].dtype == DType::kInt32)
      e.ids_i32 = in[0].i32();
    else
      e.ids_f32 = in[0].f32();
    e.table = dev_f32(table_);
    e.y = out[0].f32();
    e.bad = static_cast<int64_t*>(ctx.scratch);
    static const int64_t none = kNoBadId;  // static: the async copy may read it later
    check_cuda(cudaMemcpyAsync(e.bad, &none, sizeof none, cudaMemcpyHostToDevice, ctx.stream),
               "cudaMemcpyAsync (embedding)");
    check_launch(cuda::embedding_f32(e, ctx.stream), where_);
    int64_t bad = kNoBadId;
    check_cuda(cudaMemcpyAsync(&bad, e.bad, sizeof bad, cudaMemcpyDeviceToHost, ctx.stream),
               "cudaMemcpyAsync (embedding)");
    check_cuda(cudaStreamSynchronize(ctx.stream), "cudaStreamSynchronize (embedding)");
    if (bad != kNoBadId) report(ctx, in[0], bad);
  }

 private:
  // The CPU op's error for the id at flat position `pos`.
  [[noreturn]] void report(const CudaRunContext& ctx, const TensorView& ids, int64_t pos) const {
    uint32_t bits = 0;
    check_cuda(cudaMemcpyAsync(&bits, static_cast<const uint32_t*>(ids.data) + pos, sizeof bits,
                               cudaMemcpyDeviceToHost, ctx.stream),
               "cudaMemcpyAsync (embedding)");
    check_cuda(cudaStreamSynchronize(ctx.stream), "cudaStreamSynchronize (embedding)");
    double id;
    if (ids.dtype == DType::kInt32) {
      int32_t v;
      std::memcpy(&v, &bits, sizeof v);
      id = v;
    } else {
      float v;
      std::memcpy(&v, &bits, sizeof v);
      id = std::trunc(static_cast<double>(v));
    }
    const std::string text = std::isnan(id) ? "nan" : std::to_string(static_cast<long long>(id));
    fail(ErrorKind::kInputValue, where_ + ": id " + text + " at flat position " +
                                     std::to_string(pos) + " is not in [0, " +
                                     std::to_string(rows_ - 1) + "]");
  }

  std::string where_;
  int64_t rows_ = 0, dim_ = 0;
  CudaBuffer table_;
};

}  // namespace

void register_cuda_embedding_ops(CudaOpRegistry& r) {
  r["embedding"] = [](const OpNode& n) -> CudaOpPtr { return std::make_unique<CudaEmbedding>(n); };
}

}  // namespace tfjs_infer
