// "batch_norm" (moving statistics, any axis) and "layer_norm" (over a set of
// trailing axes, or one axis anywhere).
#include <cmath>

#include "ops/registry.h"
#include "ops/shape_rules.h"

namespace tfjs_infer {

namespace {

int64_t norm_axis(int64_t axis, size_t rank) {
  return axis < 0 ? axis + static_cast<int64_t>(rank) : axis;
}

// y = (x - mean) * gamma / sqrt(var + eps) + beta, as scale and shift per
// channel computed in float64 at load.
class BatchNormOp final : public Op {
 public:
  BatchNormOp(const OpNode& node, const KernelTable&) : Op(node), axis_(node.attr_int("axis", -1)) {
    node.require_inputs(1, 1);
    const WeightTensor& mean = node.require_weight("moving_mean", {-1});
    channels_ = mean.shape[0];
    const WeightTensor& var = node.require_weight("moving_variance", {channels_});
    const WeightTensor* gamma = node.weight("gamma");
    const WeightTensor* beta = node.weight("beta");
    if (gamma) node.require_weight("gamma", {channels_});
    if (beta) node.require_weight("beta", {channels_});
    const double eps = node.attr_float("epsilon", 1e-3);
    scale_.reset(static_cast<size_t>(channels_));
    shift_.reset(static_cast<size_t>(channels_));
    for (int64_t c = 0; c < channels_; ++c) {
      const double s = (gamma ? gamma->f32[c] : 1.0) / std::sqrt(double(var.f32[c]) + eps);
      scale_[c] = static_cast<float>(s);
      shift_[c] = static_cast<float>((beta ? beta->f32[c] : 0.0) - mean.f32[c] * s);
    }
  }
  std::vector<ValueType> infer(const std::vector<ValueType>& in) const override {
    const Shape& s = in[0].shape;
    const int64_t a = norm_axis(axis_, s.size());
    if (a < 0 || a >= static_cast<int64_t>(s.size()) || !dims_fit(s[a], channels_))
      shape_error("expected " + std::to_string(channels_) + " channels on axis " +
                  std::to_string(axis_) + ", received input " + shape_str(s));
    return {{s, DType::kFloat32}};
  }
  void run(const RunContext&, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const Shape& s = in[0].shape;
    const int64_t a = norm_axis(axis_, s.size());
    int64_t inner = 1;
    for (size_t d = a + 1; d < s.size(); ++d) inner *= s[d];
    const int64_t outer = in[0].size() / (channels_ * inner);
    const float* x = in[0].f32();
    float* y = out[0].f32();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t c = 0; c < channels_; ++c) {
        const float sc = scale_[c], sh = shift_[c];
        const int64_t base = (o * channels_ + c) * inner;
        for (int64_t i = 0; i < inner; ++i) y[base + i] = x[base + i] * sc + sh;
      }
  }

 private:
  int64_t axis_, channels_ = 0;
  Buffer<float> scale_, shift_;
};

// Mean and biased variance over the normalized axes, then
// (x - mean) / sqrt(var + eps) * gamma + beta (or, with rms_scaling, Keras 3's
// x * rsqrt(var + eps) * gamma without centring).
class LayerNormOp final : public Op {
 public:
  LayerNormOp(const OpNode& node, const KernelTable&)
      : Op(node),
        axes_(node.attr_ints("axes", {-1})),
        eps_(node.attr_float("epsilon", 1e-3)),
        rms_scaling_(node.attr_int("rms_scaling", 0) != 0) {
    node.require_inputs(1, 1);
    for (const char* key : {"gamma", "beta"}) {
      const WeightTensor* w = node.weight(key);
      if (!w) continue;
      Buffer<float>& dst = key[0] == 'g' ? gamma_ : beta_;
      dst.reset(w->f32.size());
      std::copy(w->f32.begin(), w->f32.end(), dst.data());
    }
  }
  std::vector<ValueType> infer(const std::vector<ValueType>& in) const override {
    const Shape& s = in[0].shape;
    int64_t lo = 0, hi = 0;
    span(s.size(), &lo, &hi);
    const int64_t group = dims_product(s, static_cast<size_t>(lo), static_cast<size_t>(hi) + 1);
    for (const Buffer<float>* w : {&gamma_, &beta_})
      if (w->size() && known(group) && static_cast<int64_t>(w->size()) != group)
        shape_error("gamma/beta of size " + std::to_string(w->size()) + " do not fit input " +
                    shape_str(s));
    return {{s, DType::kFloat32}};
  }
  void run(const RunContext&, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const Shape& s = in[0].shape;
    int64_t lo = 0, hi = 0;
    span(s.size(), &lo, &hi);
    int64_t len = 1, inner = 1;
    for (int64_t d = lo; d <= hi; ++d) len *= s[d];
    for (size_t d = hi + 1; d < s.size(); ++d) inner *= s[d];
    const int64_t outer = in[0].size() / (len * inner);
    const float* x = in[0].f32();
    float* y = out[0].f32();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        const float* src = x + o * len * inner + i;
        float* dst = y + o * len * inner + i;
        double mean = 0;
        for (int64_t j = 0; j < len; ++j) mean += src[j * inner];
        mean /= static_cast<double>(len);
        double var = 0;
        for (int64_t j = 0; j < len; ++j) {
          const double d = src[j * inner] - mean;
          var += d * d;
        }
        var /= static_cast<double>(len);
        const double inv = 1.0 / std::sqrt(var + eps_);
        for (int64_t j = 0; j < len; ++j) {
          double v = rms_scaling_ ? src[j * inner] * inv : (src[j * inner] - mean) * inv;
          if (gamma_.size()) v *= gamma_[j];
          if (beta_.size() && !rms_scaling_) v += beta_[j];
          dst[j * inner] = static_cast<float>(v);
        }
      }
  }

 private:
  // The normalized axes must be contiguous: [lo, hi].
  void span(size_t rank, int64_t* lo, int64_t* hi) const {
    *lo = static_cast<int64_t>(rank);
    *hi = -1;
    for (int64_t a : axes_) {
      const int64_t d = norm_axis(a, rank);
      if (d <= 0 || d >= static_cast<int64_t>(rank))
        shape_error("axis " + std::to_string(a) + " is out of range for rank " +
                    std::to_string(rank));
      *lo = std::min(*lo, d);
      *hi = std::max(*hi, d);
    }
    if (*hi - *lo + 1 != static_cast<int64_t>(axes_.size()))
      shape_error("normalized axes must be contiguous");
  }

  std::vector<int64_t> axes_;
  double eps_;
  bool rms_scaling_;
  Buffer<float> gamma_, beta_;
};

}  // namespace

void register_normalization_ops(OpRegistry& r) {
  r["batch_norm"] = [](const OpNode& n, const KernelTable& k) {
    return std::make_unique<BatchNormOp>(n, k);
  };
  r["layer_norm"] = [](const OpNode& n, const KernelTable& k) {
    return std::make_unique<LayerNormOp>(n, k);
  };
}

}  // namespace tfjs_infer
