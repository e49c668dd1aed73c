// "category_encoding" (CategoryEncoding): integer ids -> dense float vectors
// of num_tokens entries.
//   multi_hot: (..., k) -> (..., T), 1 where an id of the row occurs;
//   count:     (..., k) -> (..., T), how many times each id occurs;
//   one_hot:   (...)    -> (..., T), one vector per id.
// Float ids truncate toward zero (TF.js and Keras cast to int32). Ids outside
// [0, T) are an input error (TF.js throws; tfjs-infer never guesses).
#include <cmath>
#include <cstring>

#include "ops/registry.h"

namespace tfjs_infer {

void register_category_encoding_ops(OpRegistry& r);

namespace {

class CategoryEncodingOp final : public Op {
 public:
  CategoryEncodingOp(const OpNode& node, const KernelTable&)
      : Op(node), tokens_(node.attr_int("num_tokens")) {
    node.require_inputs(1, 1);
    const std::string m = node.attr_str("mode");
    if (m != "one_hot" && m != "multi_hot" && m != "count")
      fail(ErrorKind::kInvalidModel, where() + ": unknown output mode '" + m + "'");
    one_hot_ = m == "one_hot";
    count_ = m == "count";
    if (tokens_ < 1 || tokens_ > (int64_t(1) << 31))
      fail(ErrorKind::kInvalidModel, where() + ": num_tokens " + std::to_string(tokens_) +
                                         " must be a positive 32-bit count");
  }

  std::vector<ValueType> infer(const std::vector<ValueType>& in) const override {
    Shape o = in[0].shape;
    if (one_hot_) {
      o.push_back(tokens_);
    } else {
      if (o.size() < 2)
        shape_error("expected an input of rank 2 or more, received " + shape_str(o));
      o.back() = tokens_;
    }
    return {{o, DType::kFloat32}};
  }

  void run(const RunContext&, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const TensorView& x = in[0];
    const int64_t n = x.size();
    for (int64_t i = 0; i < n; ++i) {  // validate every id before writing anything
      const double id = id_at(x, i);
      if (!(id >= 0 && id < static_cast<double>(tokens_)))
        fail(ErrorKind::kInputValue,
             where() + ": value " +
                 (std::isnan(id) ? std::string("nan") : std::to_string((long long)id)) +
                 " at flat position " + std::to_string(i) + " is not in [0, " +
                 std::to_string(tokens_ - 1) + "] (num_tokens " + std::to_string(tokens_) + ")");
    }
    float* y = out[0].f32();
    std::memset(y, 0, static_cast<size_t>(out[0].size()) * sizeof(float));
    if (one_hot_) {
      for (int64_t i = 0; i < n; ++i) y[i * tokens_ + static_cast<int64_t>(id_at(x, i))] = 1.0f;
      return;
    }
    const int64_t k = x.shape.back();
    const int64_t rows = k > 0 ? n / k : 0;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < k; ++j) {
        float& slot = y[r * tokens_ + static_cast<int64_t>(id_at(x, r * k + j))];
        slot = count_ ? slot + 1.0f : 1.0f;
      }
  }

 private:
  static double id_at(const TensorView& t, int64_t i) {
    return t.dtype == DType::kInt32 ? t.i32()[i] : std::trunc(double(t.f32()[i]));
  }
  int64_t tokens_;
  bool one_hot_ = false, count_ = false;
};

}  // namespace

void register_category_encoding_ops(OpRegistry& r) {
  r["category_encoding"] = [](const OpNode& n, const KernelTable& k) {
    return std::make_unique<CategoryEncodingOp>(n, k);
  };
}

}  // namespace tfjs_infer
