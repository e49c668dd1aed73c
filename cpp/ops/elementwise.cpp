// Element-wise ops over several inputs with broadcasting ("add", "sub",
// "mul", "max", "min", "mean"), "prelu" and "scale_shift" (Rescaling).
#include <algorithm>
#include <cmath>

#include "core/threading.h"
#include "ops/registry.h"
#include "ops/shape_rules.h"

namespace tfjs_infer {

namespace {

enum class Merge { kAdd, kSub, kMul, kMax, kMin, kMean };

// Keras merge broadcasting: lower-rank inputs get size-1 axes inserted at
// position 1 until the ranks match, then NumPy rules apply.
Shape expand_rank(Shape s, size_t rank) {
  while (s.size() < rank) s.insert(s.begin() + (s.empty() ? 0 : 1), 1);
  return s;
}

// Strides of `s` (expanded to the output rank) with 0 on broadcast axes.
std::vector<int64_t> broadcast_strides(const Shape& s, const Shape& out) {
  std::vector<int64_t> st(out.size(), 0);
  int64_t acc = 1;
  for (size_t d = out.size(); d-- > 0;) {
    st[d] = s[d] == 1 && out[d] != 1 ? 0 : acc;
    acc *= s[d];
  }
  return st;
}

class MergeOp final : public Op {
 public:
  MergeOp(const OpNode& node, Merge kind) : Op(node), kind_(kind) {
    if (kind == Merge::kSub)
      node.require_inputs(2, 2);
    else
      node.require_inputs(1, 64);
  }

  std::vector<ValueType> infer(const std::vector<ValueType>& in) const override {
    size_t rank = 0;
    for (const auto& t : in) rank = std::max(rank, t.shape.size());
    Shape out(rank, 1);
    for (const auto& t : in) {
      const Shape s = expand_rank(t.shape, rank);
      for (size_t d = 0; d < rank; ++d) {
        if (s[d] == out[d] || s[d] == 1) continue;
        // An unknown dim takes a known one's size (1 excepted: that one
        // broadcasts); one not known yet is checked at predict time.
        if (!known(s[d]) && out[d] != 1) continue;
        if (known(out[d]) && out[d] != 1) {
          std::string shapes;
          for (const auto& u : in) shapes += (shapes.empty() ? "" : ", ") + shape_str(u.shape);
          shape_error("inputs cannot be broadcast together: " + shapes);
        }
        out[d] = s[d];
      }
    }
    return {{out, DType::kFloat32}};
  }

  void run(const RunContext&, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const Shape& os = out[0].shape;
    const int64_t n = out[0].size();
    float* y = out[0].f32();
    for (size_t i = 0; i < in.size(); ++i) {
      const Shape s = expand_rank(in[i].shape, os.size());
      const float* x = in[i].f32();
      if (s == os) {
        if (i == 0) {
          std::copy(x, x + n, y);
        } else {
          combine_contiguous(y, x, n);
        }
      } else {
        combine_broadcast(y, x, s, os, i == 0);
      }
    }
    if (kind_ == Merge::kMean) {
      const float inv = 1.0f / static_cast<float>(in.size());  // TF.js: sum * (1/n)
      for (int64_t j = 0; j < n; ++j) y[j] *= inv;
    }
  }

 private:
  float combine(float acc, float v) const {
    switch (kind_) {
      case Merge::kAdd:
      case Merge::kMean:
        return acc + v;
      case Merge::kSub:
        return acc - v;
      case Merge::kMul:
        return acc * v;
      // NaN from any input wins, as in TF.js's and TF's maximum/minimum
      // (std::max would keep the first argument when the other is NaN).
      case Merge::kMax:
        return v > acc || v != v ? v : acc;
      case Merge::kMin:
        return v < acc || v != v ? v : acc;
    }
    return acc;
  }
  void combine_contiguous(float* y, const float* x, int64_t n) const {
    switch (kind_) {
      case Merge::kAdd:
      case Merge::kMean:
        for (int64_t j = 0; j < n; ++j) y[j] += x[j];
        break;
      case Merge::kSub:
        for (int64_t j = 0; j < n; ++j) y[j] -= x[j];
        break;
      case Merge::kMul:
        for (int64_t j = 0; j < n; ++j) y[j] *= x[j];
        break;
      default:
        for (int64_t j = 0; j < n; ++j) y[j] = combine(y[j], x[j]);
    }
  }
  void combine_broadcast(float* y, const float* x, const Shape& s, const Shape& os,
                         bool first) const {
    const std::vector<int64_t> st = broadcast_strides(s, os);
    const size_t rank = os.size();
    std::vector<int64_t> idx(rank, 0);
    const int64_t n = num_elements(os);
    int64_t off = 0;
    for (int64_t j = 0; j < n; ++j) {
      y[j] = first ? x[off] : combine(y[j], x[off]);
      for (size_t d = rank; d-- > 0;) {  // advance the multi-index
        off += st[d];
        if (++idx[d] < os[d]) break;
        off -= st[d] * os[d];
        idx[d] = 0;
      }
    }
  }

  Merge kind_;
};

// PReLU: x >= 0 ? x : alpha * x, alpha broadcast over the non-batch axes.
class PReluOp final : public Op {
 public:
  PReluOp(const OpNode& node, const KernelTable&) : Op(node) {
    node.require_inputs(1, 1);
    const WeightTensor* a = node.weight("alpha");
    if (!a) fail(ErrorKind::kInvalidModel, where() + ": weight 'alpha' is missing");
    alpha_shape_ = a->shape;
    alpha_.reset(a->f32.size());
    std::copy(a->f32.begin(), a->f32.end(), alpha_.data());
  }
  std::vector<ValueType> infer(const std::vector<ValueType>& in) const override {
    const Shape& s = in[0].shape;
    bool ok = s.size() == alpha_shape_.size() + 1;
    for (size_t d = 0; ok && d < alpha_shape_.size(); ++d)
      ok = alpha_shape_[d] == 1 || dims_fit(alpha_shape_[d], s[d + 1]);
    if (!ok)
      shape_error("alpha of shape " + shape_str(alpha_shape_) + " does not fit input " +
                  shape_str(s));
    return {{s, DType::kFloat32}};
  }
  void run(const RunContext&, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    Shape row(in[0].shape.begin() + 1, in[0].shape.end());
    const std::vector<int64_t> st = broadcast_strides(alpha_shape_, row);
    const int64_t per_row = num_elements(row), rows = in[0].shape[0];
    std::vector<int64_t> alpha_index(static_cast<size_t>(per_row));
    {
      std::vector<int64_t> idx(row.size(), 0);
      int64_t off = 0;
      for (int64_t j = 0; j < per_row; ++j) {
        alpha_index[j] = off;
        for (size_t d = row.size(); d-- > 0;) {
          off += st[d];
          if (++idx[d] < row[d]) break;
          off -= st[d] * row[d];
          idx[d] = 0;
        }
      }
    }
    const float* x = in[0].f32();
    float* y = out[0].f32();
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < per_row; ++j) {
        const float v = x[r * per_row + j];
        y[r * per_row + j] = v >= 0.0f ? v : alpha_[alpha_index[j]] * v;
      }
  }

 private:
  Shape alpha_shape_;
  Buffer<float> alpha_;
};

// y = x * scale + offset; scale/offset are scalars or per-channel (last axis).
class ScaleShiftOp final : public Op {
 public:
  ScaleShiftOp(const OpNode& node, const KernelTable&)
      : Op(node), scale_(node.attr_floats("scale")), offset_(node.attr_floats("offset")) {
    node.require_inputs(1, 1);
    if (scale_.empty() || offset_.empty())
      fail(ErrorKind::kInvalidModel, where() + ": 'scale' and 'offset' must not be empty");
  }
  std::vector<ValueType> infer(const std::vector<ValueType>& in) const override {
    const int64_t c = in[0].shape.empty() ? 1 : in[0].shape.back();
    for (const auto* v : {&scale_, &offset_})
      if (v->size() != 1 && known(c) && static_cast<int64_t>(v->size()) != c)
        shape_error("per-channel scale/offset of length " + std::to_string(v->size()) +
                    " does not fit input " + shape_str(in[0].shape));
    return {{in[0].shape, DType::kFloat32}};
  }
  void run(const RunContext&, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const int64_t n = in[0].size();
    const int64_t c = in[0].shape.empty() ? 1 : in[0].shape.back();
    float* y = out[0].f32();
    for (int64_t j = 0; j < n; ++j) {
      const double x = in[0].dtype == DType::kInt32 ? in[0].i32()[j] : in[0].f32()[j];
      const size_t ch = static_cast<size_t>(j % c);
      const double s = scale_.size() == 1 ? scale_[0] : scale_[ch];
      const double o = offset_.size() == 1 ? offset_[0] : offset_[ch];
      y[j] =
          static_cast<float>(static_cast<float>(x) * static_cast<float>(s) + static_cast<float>(o));
    }
  }

 private:
  std::vector<double> scale_, offset_;
};

}  // namespace

void register_elementwise_ops(OpRegistry& r) {
  const std::pair<const char*, Merge> merges[] = {{"add", Merge::kAdd}, {"sub", Merge::kSub},
                                                  {"mul", Merge::kMul}, {"max", Merge::kMax},
                                                  {"min", Merge::kMin}, {"mean", Merge::kMean}};
  for (const auto& [name, kind] : merges) {
    const Merge k = kind;
    r[name] = [k](const OpNode& n, const KernelTable&) { return std::make_unique<MergeOp>(n, k); };
  }
  r["prelu"] = [](const OpNode& n, const KernelTable& k) {
    return std::make_unique<PReluOp>(n, k);
  };
  r["scale_shift"] = [](const OpNode& n, const KernelTable& k) {
    return std::make_unique<ScaleShiftOp>(n, k);
  };
}

}  // namespace tfjs_infer
