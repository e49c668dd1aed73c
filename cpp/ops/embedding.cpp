// "embedding": gathers rows of a table by integer ids (float ids truncate
// toward zero, as TF.js casts them). Out-of-range ids are an error.
#include <cmath>
#include <cstring>

#include "core/env_switch.h"
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
    prefetch_ = !env_is("TFJS_INFER_EMBED_PREFETCH", "0");
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
    parallel_for(threads, threads,
                 [&](int64_t t) { gather(in[0], n * t / threads, n * (t + 1) / threads, y); });
  }

 private:
  // Rows [i0, i1) of the output. The rows of a large table sit in L3 or
  // memory at addresses the hardware prefetcher cannot guess: each row's
  // lines are requested kPrefetchAhead rows before it is copied, so several
  // rows' misses overlap. The text CNN's Embedding(20000, 128) over 32 x 200
  // ids (10 MB table, 512-byte rows), 1 thread, AMD EPYC Zen 4 (family 25
  // model 17), model.profile medians of 30 in fresh processes taking turns,
  // load 4.5-5.4: 511-616 us -> 377-452 us (0.73-0.87x); the model 0.99x
  // (bench/env_ab.py --var TFJS_INFER_EMBED_PREFETCH --values 0,1 --models
  // text_cnn --threads 1 --batch 32). Ids in table order (rows the hardware
  // prefetcher follows) 235 -> 289 us: not a case models hit.
  void gather(const TensorView& ids, int64_t i0, int64_t i1, float* y) const {
    const size_t row_bytes = static_cast<size_t>(dim_) * 4;
    for (int64_t i = i0; i < i1; ++i) {
      if (prefetch_ && i + kPrefetchAhead < i1) prefetch_row(id_at(ids, i + kPrefetchAhead));
      const int64_t id = static_cast<int64_t>(id_at(ids, i));
      std::memcpy(y + i * dim_, table_.data() + id * dim_, row_bytes);
    }
  }

  void prefetch_row(double id) const {
    const char* row =
        reinterpret_cast<const char*>(table_.data() + static_cast<int64_t>(id) * dim_);
    for (int64_t b = 0; b < dim_ * 4; b += 64) __builtin_prefetch(row + b, 0, 3);
  }

  static double id_at(const TensorView& t, int64_t i) {
    return t.dtype == DType::kInt32 ? t.i32()[i] : std::trunc(double(t.f32()[i]));
  }
  static std::string format_id(double id) {
    if (std::isnan(id)) return "nan";
    return std::to_string(static_cast<long long>(id));
  }
  // Rows ahead whose lines are requested (gather): 4, 8 and 16 measured alike
  // within the host's noise on the text CNN (2 and 32 slower), Zen 4.
  static constexpr int64_t kPrefetchAhead = 8;

  int64_t rows_ = 0, dim_ = 0;
  Buffer<float> table_;
  bool prefetch_ = true;  // TFJS_INFER_EMBED_PREFETCH=0: plain copies (read at load, for A/B)
};

}  // namespace

void register_embedding_ops(OpRegistry& r) {
  r["embedding"] = [](const OpNode& n, const KernelTable& k) {
    return std::make_unique<EmbeddingOp>(n, k);
  };
}

}  // namespace tfjs_infer
