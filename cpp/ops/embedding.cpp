// "embedding": gathers rows of a table by integer ids (float ids truncate
// toward zero, as TF.js casts them). Out-of-range ids are an error.
#include <cmath>
#include <cstring>

#include "core/threading.h"
#include "ops/registry.h"

namespace tfjs_infer {

namespace {

class EmbeddingOp final : public Op {
 public:
  EmbeddingOp(const OpNode& node, const KernelTable&) : Op(node) {
    node.require_inputs(1, 1);
    const WeightTensor& t = node.require_weight("embeddings", {-1, -1});
    rows_ = t.shape[0];
    dim_ = t.shape[1];
    table_.reset(t.f32.size());
    std::copy(t.f32.begin(), t.f32.end(), table_.data());
  }
  std::vector<ValueType> infer(const std::vector<ValueType>& in) const override {
    Shape o = in[0].shape;
    o.push_back(dim_);
    return {{o, DType::kFloat32}};
  }
  void run(const RunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const int64_t n = in[0].size();
    for (int64_t i = 0; i < n; ++i) {  // validate every id before writing anything
      const double id = id_at(in[0], i);
      if (!(id >= 0 && id < static_cast<double>(rows_)))
        fail(ErrorKind::kInputValue, where() + ": id " + format_id(id) + " at flat position " +
                                         std::to_string(i) + " is not in [0, " +
                                         std::to_string(rows_ - 1) + "]");
    }
    // Large batches gather megabytes: rows split over threads (copies only).
    float* y = out[0].f32();
    const int threads = threads_for(ctx.num_threads, n * dim_, n);
    parallel_for(threads, threads, [&](int64_t t) {
      for (int64_t i = n * t / threads; i < n * (t + 1) / threads; ++i) {
        const int64_t id = static_cast<int64_t>(id_at(in[0], i));
        std::memcpy(y + i * dim_, table_.data() + id * dim_, static_cast<size_t>(dim_) * 4);
      }
    });
  }

 private:
  static double id_at(const TensorView& t, int64_t i) {
    return t.dtype == DType::kInt32 ? t.i32()[i] : std::trunc(double(t.f32()[i]));
  }
  static std::string format_id(double id) {
    if (std::isnan(id)) return "nan";
    return std::to_string(static_cast<long long>(id));
  }
  int64_t rows_ = 0, dim_ = 0;
  Buffer<float> table_;
};

}  // namespace

void register_embedding_ops(OpRegistry& r) {
  r["embedding"] = [](const OpNode& n, const KernelTable& k) {
    return std::make_unique<EmbeddingOp>(n, k);
  };
}

}  // namespace tfjs_infer
