// Sequence helpers registered with the 'recurrent' family. Keras masks are
// float32 tensors of 0 (skip) and 1 (keep), one value per time step.
//   "not_equal_mask": ids or values (any shape, float32 or int32) ->
//                     float32 (x != value), the Embedding(mask_zero) mask
//   "masking":        x (..., F) -> [x where any(x != mask_value, -1) else 0,
//                     that mask (...)], the Masking layer (attr select = 1:
//                     Keras 3's where(); 0: TF.js/Keras 2's multiply)
//   "ones_mask":      x (..., F) -> ones (...), the mask of an unmasked input
//                     in a masked Concatenate
//   "masked_mean":    x (N, T, F), mask (N, T) -> sum_t(x mask) / sum_t(mask),
//                     (N, F) or (N, 1, F) with keepdims: Keras's masked
//                     GlobalAveragePooling1D (a fully masked row gives NaN, as
//                     in Keras)
//   "fill_like":      x -> a float32 tensor of x's shape filled with attr value
//                     (keras.ops zeros_like / ones_like in Keras 3 mask graphs)
//   "reduce_mask":    any (attr all = 0) or all (all = 1) of x != 0 over attr
//                     axis, keepdims as attr (keras.ops any / all on masks)
//   "time_fold":      (N, T, ...) -> (N*T, ...), for TimeDistributed
//   "time_unfold":    y (N*T, ...), ref (N, T, ...) -> (N, T, ...y's rest)
#include <algorithm>
#include <cmath>
#include <cstring>

#include "ops/registry.h"
#include "ops/shape_rules.h"

namespace tfjs_infer {

namespace {

Shape drop_last(const Shape& s) { return Shape(s.begin(), s.end() - 1); }

class NotEqualMaskOp final : public Op {
 public:
  NotEqualMaskOp(const OpNode& node, const KernelTable&)
      : Op(node), value_(node.attr_float("value", 0.0)) {
    node.require_inputs(1, 1);
  }
  std::vector<ValueType> infer(const std::vector<ValueType>& in) const override {
    return {{in[0].shape, DType::kFloat32}};
  }
  void run(const RunContext&, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const int64_t n = in[0].size();
    float* y = out[0].f32();
    if (in[0].dtype == DType::kInt32) {
      for (int64_t i = 0; i < n; ++i) y[i] = in[0].i32()[i] != value_ ? 1.0f : 0.0f;
    } else {
      for (int64_t i = 0; i < n; ++i) y[i] = in[0].f32()[i] != value_ ? 1.0f : 0.0f;
    }
  }

 private:
  double value_;
};

class MaskingOp final : public Op {
 public:
  MaskingOp(const OpNode& node, const KernelTable&)
      : Op(node),
        value_(static_cast<float>(node.attr_float("mask_value", 0.0))),
        select_(node.attr_int("select", 0) != 0) {
    node.require_inputs(1, 1);
  }
  std::vector<ValueType> infer(const std::vector<ValueType>& in) const override {
    if (in[0].shape.size() < 2 || in[0].dtype != DType::kFloat32)
      shape_error("expected a float32 input of rank 2 or more, received " + shape_str(in[0].shape));
    return {{in[0].shape, DType::kFloat32}, {drop_last(in[0].shape), DType::kFloat32}};
  }
  void run(const RunContext&, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const int64_t f = in[0].shape.back();
    const int64_t rows = f ? in[0].size() / f : 0;
    const float* x = in[0].f32();
    float* y = out[0].f32();
    float* m = out[1].f32();
    for (int64_t r = 0; r < rows; ++r) {
      const float* xr = x + r * f;
      bool any = false;
      for (int64_t j = 0; j < f && !any; ++j) any = xr[j] != value_;  // NaN != v: kept
      m[r] = any ? 1.0f : 0.0f;
      const float scale = any ? 1.0f : 0.0f;
      for (int64_t j = 0; j < f; ++j) y[r * f + j] = select_ ? (any ? xr[j] : 0.0f) : xr[j] * scale;
    }
  }

 private:
  float value_;
  bool select_;
};

class OnesMaskOp final : public Op {
 public:
  OnesMaskOp(const OpNode& node, const KernelTable&) : Op(node) { node.require_inputs(1, 1); }
  std::vector<ValueType> infer(const std::vector<ValueType>& in) const override {
    if (in[0].shape.size() < 2) shape_error("expected an input of rank 2 or more");
    return {{drop_last(in[0].shape), DType::kFloat32}};
  }
  void run(const RunContext&, const std::vector<TensorView>&,
           const std::vector<TensorView>& out) const override {
    std::fill_n(out[0].f32(), out[0].size(), 1.0f);
  }
};

class MaskedMeanOp final : public Op {
 public:
  MaskedMeanOp(const OpNode& node, const KernelTable&)
      : Op(node), keepdims_(node.attr_int("keepdims", 0) != 0) {
    node.require_inputs(2, 2);
  }
  std::vector<ValueType> infer(const std::vector<ValueType>& in) const override {
    const Shape& s = in[0].shape;
    if (s.size() != 3 || in[0].dtype != DType::kFloat32)
      shape_error("expected a float32 input of shape (batch, steps, features), received " +
                  shape_str(s));
    if (!shapes_fit(in[1].shape, {s[0], s[1]}))
      shape_error("expected a mask of shape " + shape_str({s[0], s[1]}) + ", received " +
                  shape_str(in[1].shape));
    return {{keepdims_ ? Shape{s[0], 1, s[2]} : Shape{s[0], s[2]}, DType::kFloat32}};
  }
  void run(const RunContext&, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const int64_t n = in[0].shape[0], steps = in[0].shape[1], f = in[0].shape[2];
    const float* x = in[0].f32();
    const float* m = in[1].f32();
    float* y = out[0].f32();
    for (int64_t r = 0; r < n; ++r) {
      double count = 0.0;
      for (int64_t t = 0; t < steps; ++t) count += m[r * steps + t];
      for (int64_t j = 0; j < f; ++j) {
        double sum = 0.0;
        for (int64_t t = 0; t < steps; ++t)
          sum += static_cast<double>(x[(r * steps + t) * f + j]) * m[r * steps + t];
        y[r * f + j] = static_cast<float>(sum / count);
      }
    }
  }

 private:
  bool keepdims_;
};

class FillLikeOp final : public Op {
 public:
  FillLikeOp(const OpNode& node, const KernelTable&)
      : Op(node), value_(static_cast<float>(node.attr_float("value", 0.0))) {
    node.require_inputs(1, 1);
  }
  std::vector<ValueType> infer(const std::vector<ValueType>& in) const override {
    return {{in[0].shape, DType::kFloat32}};
  }
  void run(const RunContext&, const std::vector<TensorView>&,
           const std::vector<TensorView>& out) const override {
    std::fill_n(out[0].f32(), out[0].size(), value_);
  }

 private:
  float value_;
};

class ReduceMaskOp final : public Op {
 public:
  ReduceMaskOp(const OpNode& node, const KernelTable&)
      : Op(node),
        axis_(node.attr_int("axis", -1)),
        all_(node.attr_int("all", 0) != 0),
        keepdims_(node.attr_int("keepdims", 0) != 0) {
    node.require_inputs(1, 1);
  }
  std::vector<ValueType> infer(const std::vector<ValueType>& in) const override {
    const Shape& s = in[0].shape;
    const int64_t a = axis(s);
    Shape o = s;
    if (keepdims_)
      o[a] = 1;
    else
      o.erase(o.begin() + a);
    return {{o, DType::kFloat32}};
  }
  void run(const RunContext&, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const Shape& s = in[0].shape;
    const int64_t a = axis(s);
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < a; ++d) outer *= s[d];
    for (size_t d = a + 1; d < s.size(); ++d) inner *= s[d];
    const int64_t len = s[a];
    float* y = out[0].f32();
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < inner; ++i) {
        bool acc = all_;
        for (int64_t k = 0; k < len; ++k) {
          const int64_t at = (o * len + k) * inner + i;
          const bool v =
              in[0].dtype == DType::kInt32 ? in[0].i32()[at] != 0 : in[0].f32()[at] != 0.0f;
          acc = all_ ? (acc && v) : (acc || v);
        }
        y[o * inner + i] = acc ? 1.0f : 0.0f;
      }
    }
  }

 private:
  int64_t axis(const Shape& s) const {
    const int64_t r = static_cast<int64_t>(s.size());
    if (axis_ < -r || axis_ >= r || r == 0)
      shape_error("axis " + std::to_string(axis_) + " is out of range for " + shape_str(s));
    return axis_ < 0 ? axis_ + r : axis_;
  }
  int64_t axis_;
  bool all_, keepdims_;
};

class TimeFoldOp final : public Op {
 public:
  TimeFoldOp(const OpNode& node, const KernelTable&) : Op(node) { node.require_inputs(1, 1); }
  std::vector<ValueType> infer(const std::vector<ValueType>& in) const override {
    const Shape& s = in[0].shape;
    if (s.size() < 3) shape_error("expected an input of rank 3 or more, received " + shape_str(s));
    Shape o = {dim_mul(s[0], s[1])};
    o.insert(o.end(), s.begin() + 2, s.end());
    return {{o, in[0].dtype}};
  }
  void run(const RunContext&, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    if (in[0].data != out[0].data)
      std::memcpy(out[0].data, in[0].data, static_cast<size_t>(in[0].size()) * 4);
  }
};

class TimeUnfoldOp final : public Op {
 public:
  TimeUnfoldOp(const OpNode& node, const KernelTable&) : Op(node) { node.require_inputs(2, 2); }
  std::vector<ValueType> infer(const std::vector<ValueType>& in) const override {
    const Shape& s = in[0].shape;
    const Shape& ref = in[1].shape;
    if (s.empty() || ref.size() < 2 || !dims_fit(s[0], dim_mul(ref[0], ref[1])))
      shape_error("cannot unfold " + shape_str(s) + " to the steps of " + shape_str(ref));
    Shape o = {ref[0], ref[1]};
    o.insert(o.end(), s.begin() + 1, s.end());
    return {{o, in[0].dtype}};
  }
  void run(const RunContext&, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    if (in[0].data != out[0].data)
      std::memcpy(out[0].data, in[0].data, static_cast<size_t>(in[0].size()) * 4);
  }
};

template <typename T>
OpFactory factory() {
  return [](const OpNode& n, const KernelTable& k) { return std::make_unique<T>(n, k); };
}

}  // namespace

void register_sequence_ops(OpRegistry& r) {
  r["not_equal_mask"] = factory<NotEqualMaskOp>();
  r["masking"] = factory<MaskingOp>();
  r["ones_mask"] = factory<OnesMaskOp>();
  r["masked_mean"] = factory<MaskedMeanOp>();
  r["fill_like"] = factory<FillLikeOp>();
  r["reduce_mask"] = factory<ReduceMaskOp>();
  r["time_fold"] = factory<TimeFoldOp>();
  r["time_unfold"] = factory<TimeUnfoldOp>();
}

}  // namespace tfjs_infer
