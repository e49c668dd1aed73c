// Keras 3 normalization layers TF.js lacks:
//   "group_norm": GroupNormalization. The channel axis "axis" is split into
//     "groups"; mean and biased variance over every non-batch element of a
//     group; y = (x - mean) * rsqrt(var + eps) * gamma[c] + beta[c].
//   "rms_norm": RMSNormalization over contiguous "axes":
//     y = x * rsqrt(mean(x^2) + eps) * scale.
//   "unit_norm": UnitNormalization over contiguous "axes":
//     y = x * min(rsqrt(sum(x^2)), 1e12).
// Statistics are accumulated in float64 (one sequential pass per group, so
// the result does not depend on the batch or the thread count).
#include <algorithm>
#include <cmath>

#include "core/threading.h"
#include "ops/registry.h"
#include "ops/shape_rules.h"

namespace tfjs_infer {

namespace {

void copy_weight(const OpNode& node, const char* key, Buffer<float>* dst) {
  if (const WeightTensor* w = node.weight(key)) {
    dst->reset(w->f32.size());
    std::copy(w->f32.begin(), w->f32.end(), dst->data());
  }
}

class GroupNormOp final : public Op {
 public:
  GroupNormOp(const OpNode& node, const KernelTable&)
      : Op(node),
        axis_(node.attr_int("axis", -1)),
        groups_(node.attr_int("groups")),
        eps_(node.attr_float("epsilon", 1e-3)) {
    node.require_inputs(1, 1);
    if (groups_ < 1) fail(ErrorKind::kInvalidModel, where() + ": groups must be positive");
    copy_weight(node, "gamma", &gamma_);
    copy_weight(node, "beta", &beta_);
  }

  std::vector<ValueType> infer(const std::vector<ValueType>& in) const override {
    const Shape& s = in[0].shape;
    const int64_t a = axis(s.size());
    if (a < 1) shape_error("axis " + std::to_string(axis_) + " does not fit input " + shape_str(s));
    if (known(s[a]) && s[a] % groups_)
      shape_error(std::to_string(s[a]) + " channels do not split into " + std::to_string(groups_) +
                  " groups");
    for (const Buffer<float>* w : {&gamma_, &beta_})
      if (w->size() && known(s[a]) && static_cast<int64_t>(w->size()) != s[a])
        shape_error("gamma/beta of size " + std::to_string(w->size()) + " do not fit input " +
                    shape_str(s));
    return {{s, DType::kFloat32}};
  }

  void run(const RunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const Shape& s = in[0].shape;
    const int64_t a = axis(s.size());
    int64_t pre = 1, post = 1;
    for (int64_t d = 1; d < a; ++d) pre *= s[d];
    for (size_t d = a + 1; d < s.size(); ++d) post *= s[d];
    const int64_t n = s[0], c = s[a], cg = c / groups_, tasks = n * groups_;
    const int threads = threads_for(ctx.num_threads, in[0].size() * 4, tasks);
    parallel_for(tasks, threads, [&](int64_t task) {
      const int64_t b = task / groups_, g = task % groups_;
      const float* x = in[0].f32() + b * pre * c * post;
      float* y = out[0].f32() + b * pre * c * post;
      double sum = 0.0, sq = 0.0;
      for (int64_t p = 0; p < pre; ++p)
        for (int64_t ch = g * cg; ch < (g + 1) * cg; ++ch) {
          const float* src = x + (p * c + ch) * post;
          for (int64_t q = 0; q < post; ++q) sum += src[q];
        }
      const double count = static_cast<double>(pre * cg * post);
      const double mean = sum / count;
      for (int64_t p = 0; p < pre; ++p)
        for (int64_t ch = g * cg; ch < (g + 1) * cg; ++ch) {
          const float* src = x + (p * c + ch) * post;
          for (int64_t q = 0; q < post; ++q) {
            const double d = src[q] - mean;
            sq += d * d;
          }
        }
      const double inv = 1.0 / std::sqrt(sq / count + eps_);
      for (int64_t p = 0; p < pre; ++p)
        for (int64_t ch = g * cg; ch < (g + 1) * cg; ++ch) {
          const double scale = inv * (gamma_.size() ? gamma_[ch] : 1.0);
          const double shift = (beta_.size() ? beta_[ch] : 0.0) - mean * scale;
          const float* src = x + (p * c + ch) * post;
          float* dst = y + (p * c + ch) * post;
          for (int64_t q = 0; q < post; ++q) dst[q] = static_cast<float>(src[q] * scale + shift);
        }
    });
  }

 private:
  int64_t axis(size_t rank) const {
    const int64_t a = axis_ < 0 ? axis_ + static_cast<int64_t>(rank) : axis_;
    return a >= 0 && a < static_cast<int64_t>(rank) ? a : -1;
  }

  int64_t axis_, groups_;
  double eps_;
  Buffer<float> gamma_, beta_;
};

// RMS and unit normalization over a contiguous span of axes [lo, hi].
class SpanNormOp final : public Op {
 public:
  SpanNormOp(const OpNode& node, const KernelTable&, bool unit)
      : Op(node),
        unit_(unit),
        axes_(node.attr_ints("axes", {-1})),
        eps_(node.attr_float("epsilon", 1e-6)) {
    node.require_inputs(1, 1);
    copy_weight(node, "scale", &scale_);
    if (axes_.empty()) fail(ErrorKind::kInvalidModel, where() + ": no axes");
  }

  std::vector<ValueType> infer(const std::vector<ValueType>& in) const override {
    const Shape& s = in[0].shape;
    int64_t lo = 0, hi = 0;
    span(s.size(), &lo, &hi);
    const int64_t len = dims_product(s, static_cast<size_t>(lo), static_cast<size_t>(hi) + 1);
    if (scale_.size() && known(len) && static_cast<int64_t>(scale_.size()) != len)
      shape_error("scale of size " + std::to_string(scale_.size()) + " does not fit input " +
                  shape_str(s));
    return {{s, DType::kFloat32}};
  }

  void run(const RunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const Shape& s = in[0].shape;
    int64_t lo = 0, hi = 0;
    span(s.size(), &lo, &hi);
    int64_t len = 1, inner = 1;
    for (int64_t d = lo; d <= hi; ++d) len *= s[d];
    for (size_t d = hi + 1; d < s.size(); ++d) inner *= s[d];
    if (len == 0) return;
    const int64_t outer = in[0].size() / (len * inner);
    const int threads = threads_for(ctx.num_threads, in[0].size() * 3, outer);
    parallel_for(outer, threads, [&](int64_t o) {
      for (int64_t i = 0; i < inner; ++i) {
        const float* src = in[0].f32() + o * len * inner + i;
        float* dst = out[0].f32() + o * len * inner + i;
        double sq = 0.0;
        for (int64_t j = 0; j < len; ++j) sq += double(src[j * inner]) * src[j * inner];
        double factor;
        if (unit_) {
          // x rsqrt(max(sum x^2, 1e-24)); a NaN sum stays NaN (TF's maximum).
          factor = sq > 0.0 ? std::min(1.0 / std::sqrt(sq), 1e12) : (sq == sq ? 1e12 : sq);
        } else {
          factor = 1.0 / std::sqrt(sq / static_cast<double>(len) + eps_);
        }
        for (int64_t j = 0; j < len; ++j) {
          double v = src[j * inner] * factor;
          if (scale_.size()) v *= scale_[j];
          dst[j * inner] = static_cast<float>(v);
        }
      }
    });
  }

 private:
  void span(size_t rank, int64_t* lo, int64_t* hi) const {
    *lo = static_cast<int64_t>(rank);
    *hi = -1;
    for (int64_t a : axes_) {
      const int64_t d = a < 0 ? a + static_cast<int64_t>(rank) : a;
      if (d <= 0 || d >= static_cast<int64_t>(rank))
        shape_error("axis " + std::to_string(a) + " is out of range for rank " +
                    std::to_string(rank));
      *lo = std::min(*lo, d);
      *hi = std::max(*hi, d);
    }
    if (*hi - *lo + 1 != static_cast<int64_t>(axes_.size()))
      shape_error("normalized axes must be contiguous");
  }

  bool unit_;
  std::vector<int64_t> axes_;
  double eps_;
  Buffer<float> scale_;
};

}  // namespace

void register_keras_norm_ops(OpRegistry& r) {
  r["group_norm"] = [](const OpNode& n, const KernelTable& k) {
    return std::make_unique<GroupNormOp>(n, k);
  };
  r["rms_norm"] = [](const OpNode& n, const KernelTable& k) {
    return std::make_unique<SpanNormOp>(n, k, false);
  };
  r["unit_norm"] = [](const OpNode& n, const KernelTable& k) {
    return std::make_unique<SpanNormOp>(n, k, true);
  };
}

}  // namespace tfjs_infer
