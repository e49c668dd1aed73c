// Op family 'pooling': "pool" (max or average over sliding windows in 1, 2 or
// 3 spatial dimensions) and "global_pool" (max or mean over every spatial
// position).
//
// Layout is channels-last: (N, S1..Sk, C). Channels are the innermost,
// contiguous axis, so every window step is a vector operation over C that
// the compiler vectorizes. Work is split over output rows; each output element
// is reduced by one thread in a fixed order, so results do not depend on the
// batch size or the thread count.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/env_switch.h"
#include "core/threading.h"
#include "ops/conv_geometry.h"
#include "ops/registry.h"
#include "ops/shape_rules.h"

namespace tfjs_infer {

namespace {

enum class PoolMode { kMax, kAvg };

PoolMode parse_mode(const OpNode& node) {
  const std::string m = node.attr_str("mode");
  if (m == "max") return PoolMode::kMax;
  if (m == "avg") return PoolMode::kAvg;
  fail(ErrorKind::kInvalidModel,
       node.where() + ": pooling mode must be 'max' or 'avg', got '" + m + "'");
}

// One spatial axis of a windowed pooling: TF's padding rule
// (tfjs-core conv_util getPadAndOutInfo).
struct AxisPlan {
  int64_t in = 1, out = 1, k = 1, s = 1, pad_before = 0;
};

class PoolOp final : public Op {
 public:
  PoolOp(const OpNode& node, const KernelTable&) : Op(node), mode_(parse_mode(node)) {
    node.require_inputs(1, 1);
    pool_ = node.attr_ints("pool_size");
    strides_ = node.attr_ints("strides", pool_);
    const std::string padding = node.attr_str("padding", "valid");
    if (padding != "valid" && padding != "same" && padding != "explicit")
      fail(ErrorKind::kInvalidModel,
           where() + ": padding must be 'valid', 'same' or 'explicit', got '" + padding + "'");
    same_ = padding == "same";
    if (padding == "explicit") {  // a folded ZeroPadding (passes.cpp): zeros that take part
      pads_ = node.attr_ints("pads");
      bool ok = pads_.size() == 2 * pool_.size();
      for (int64_t p : pads_) ok = ok && p >= 0 && p <= kMaxWindow;
      if (!ok)
        fail(ErrorKind::kInvalidModel, where() + ": explicit pads " + shape_str(pads_) +
                                           " must be (before, after) per spatial axis, >= 0");
    }
    // Keras semantics: TF's MaxPool starts from the lowest finite float.
    if (node.attr_int("max_from_lowest", 0) != 0) max_init_ = std::numeric_limits<float>::lowest();
    if (pool_.empty() || pool_.size() > 3 || strides_.size() != pool_.size())
      fail(ErrorKind::kInvalidModel, where() + ": pool_size " + shape_str(pool_) + " and strides " +
                                         shape_str(strides_) + " must both have 1, 2 or 3 entries");
    for (size_t i = 0; i < pool_.size(); ++i)
      if (pool_[i] < 1 || strides_[i] < 1)
        fail(ErrorKind::kInvalidModel, where() + ": pool_size " + shape_str(pool_) +
                                           " and strides " + shape_str(strides_) +
                                           " must be positive");
  }

  std::vector<ValueType> infer(const std::vector<ValueType>& in) const override {
    const Shape& s = in[0].shape;
    const size_t k = pool_.size();
    if (s.size() != k + 2)
      shape_error("expected an input of rank " + std::to_string(k + 2) +
                  " (batch, spatial axes, channels), received " + shape_str(s));
    if (in[0].dtype != DType::kFloat32) shape_error("pooling expects a float32 input");
    Shape o = s;
    for (size_t i = 0; i < k; ++i) {
      const AxisPlan a = plan_axis(s[i + 1], i);
      if (known(a.out) && a.out <= 0)
        shape_error("pool_size " + std::to_string(pool_[i]) + " is larger than the input size " +
                    std::to_string(s[i + 1]) + " of spatial axis " + std::to_string(i + 1) +
                    " with 'valid' padding: the output would be empty (input " + shape_str(s) +
                    ")");
      o[i + 1] = a.out;
    }
    return {{o, DType::kFloat32}};
  }

  void run(const RunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const Shape& s = in[0].shape;
    const size_t k = pool_.size();
    // View every case as (N, D, H, W, C); missing leading axes have size 1.
    AxisPlan ax[3];
    for (size_t i = 0; i < k; ++i) ax[3 - k + i] = plan_axis(s[i + 1], i);
    PoolArgs a;
    a.max = mode_ == PoolMode::kMax ? 1 : 0;
    a.max_init = max_init_;
    a.x = in[0].f32();
    a.y = out[0].f32();
    a.c = s.back();
    a.in_d = ax[0].in, a.in_h = ax[1].in, a.in_w = ax[2].in;
    a.out_d = ax[0].out, a.out_h = ax[1].out, a.out_w = ax[2].out;
    a.k_d = ax[0].k, a.k_h = ax[1].k, a.k_w = ax[2].k;
    a.s_d = ax[0].s, a.s_h = ax[1].s, a.s_w = ax[2].s;
    a.pad_d = ax[0].pad_before, a.pad_h = ax[1].pad_before, a.pad_w = ax[2].pad_before;
    a.zero_pad = pads_.empty() ? 0 : 1;
    const int64_t rows = s[0] * a.out_d * a.out_h;
    const int64_t work = rows * a.out_w * a.c * a.k_d * a.k_h * a.k_w;
    const int threads = threads_for(ctx.num_threads, work, rows);
    // Contiguous row ranges, one per thread: each output row is computed
    // whole by one thread, so the split never changes a result.
    parallel_for(threads, threads, [&](int64_t t) {
      PoolArgs part = a;
      part.row_begin = rows * t / threads;
      part.row_end = rows * (t + 1) / threads;
      ctx.kernels->pool_f32(part);
    });
  }

 private:
  AxisPlan plan_axis(int64_t in, size_t i) const {
    AxisPlan a;
    a.in = in;
    a.k = pool_[i];
    a.s = strides_[i];
    if (!pads_.empty()) {  // 'valid' over the input with the zeros around it
      a.pad_before = pads_[2 * i];
      const int64_t padded = in + pads_[2 * i] + pads_[2 * i + 1];
      a.out = known(in) ? window_output_length(padded, a.k, a.s, 1, PadMode::kValid) : in;
      return a;
    }
    a.out = window_output_length(in, a.k, a.s, 1, same_ ? PadMode::kSame : PadMode::kValid);
    if (same_) {
      const int64_t total = std::max<int64_t>((a.out - 1) * a.s + a.k - in, 0);
      a.pad_before = total / 2;  // the odd cell of padding goes after, as in TF
    }
    return a;
  }

  PoolMode mode_;
  Shape pool_, strides_;
  bool same_ = false;
  Shape pads_;  // 'explicit': (before, after) zero cells per spatial axis
  float max_init_ = -std::numeric_limits<float>::infinity();
};

// Max or mean over all spatial positions. channels_last: (N, S..., C) ->
// (N, C); channels_first: (N, C, S...) -> (N, C). With keepdims the spatial
// axes stay as size 1.
class GlobalPoolOp final : public Op {
 public:
  GlobalPoolOp(const OpNode& node, const KernelTable&)
      : Op(node),
        mode_(parse_mode(node)),
        keepdims_(node.attr_int("keepdims", 0) != 0),
        channels_first_(node.attr_int("channels_first", 0) != 0) {
    node.require_inputs(1, 1);
  }

  std::vector<ValueType> infer(const std::vector<ValueType>& in) const override {
    const Shape& s = in[0].shape;
    if (s.size() < 3)
      shape_error(
          "expected an input of rank 3 or more (batch, spatial axes, "
          "channels), received " +
          shape_str(s));
    if (in[0].dtype != DType::kFloat32) shape_error("global pooling expects a float32 input");
    const size_t rank = s.size();
    for (size_t d = 1; d < rank; ++d)
      if (d != channel_axis(rank) && s[d] == 0)
        shape_error("cannot pool over an empty spatial axis (input " + shape_str(s) + ")");
    Shape o;
    if (keepdims_) {
      o = Shape(rank, 1);
      o[0] = s[0];
      o[channel_axis(rank)] = s[channel_axis(rank)];
    } else {
      o = {s[0], s[channel_axis(rank)]};
    }
    return {{o, DType::kFloat32}};
  }

  void run(const RunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const Shape& s = in[0].shape;
    const int64_t n = s[0], c = s[channel_axis(s.size())];
    const int64_t positions = in[0].size() / (n > 0 && c > 0 ? n * c : 1);
    const float* x = in[0].f32();
    float* y = out[0].f32();
    if (channels_first_) {
      // Each (n, c) pair reduces a contiguous run of positions.
      const int64_t tasks = n * c;
      const int threads = threads_for(ctx.num_threads, tasks * positions, tasks);
      parallel_for(tasks, threads,
                   [&](int64_t t) { y[t] = reduce_contiguous(x + t * positions, positions); });
      return;
    }
    // channels_last: accumulate position by position over a block of channels.
    const int64_t blocks = (c + kBlock - 1) / kBlock;
    const int64_t tasks = n * blocks;
    const int threads = threads_for(ctx.num_threads, n * positions * c, tasks);
    parallel_for(tasks, threads, [&](int64_t t) {
      const int64_t b = t / blocks;
      const int64_t c0 = (t % blocks) * kBlock;
      const int64_t len = c - c0 < kBlock ? c - c0 : kBlock;
      const float* xb = x + b * positions * c + c0;
      float* yb = y + b * c + c0;
      if (mode_ == PoolMode::kMax) {
        float acc[kBlock];
        for (int64_t j = 0; j < len; ++j) acc[j] = -std::numeric_limits<float>::infinity();
        for (int64_t p = 0; p < positions; ++p) {
          const float* xv = xb + p * c;
          for (int64_t j = 0; j < len; ++j) acc[j] = max_keep_nan(acc[j], xv[j]);
        }
        std::memcpy(yb, acc, static_cast<size_t>(len) * sizeof(float));
      } else {
        // Sums in double: a long sequence (GlobalAveragePooling1D over many
        // steps) keeps full float32 accuracy, as TF.js's float64 sum does.
        double acc[kBlock];
        for (int64_t j = 0; j < len; ++j) acc[j] = 0.0;
        for (int64_t p = 0; p < positions; ++p) {
          const float* xv = xb + p * c;
          for (int64_t j = 0; j < len; ++j) acc[j] += xv[j];
        }
        for (int64_t j = 0; j < len; ++j)
          yb[j] = static_cast<float>(acc[j] / static_cast<double>(positions));
      }
    });
  }

 private:
  static constexpr int64_t kBlock = 64;

  // A global max is a reduce_max in TF.js and TF: a NaN anywhere gives NaN
  // (unlike windowed max pooling, which skips NaN in both).
  static float max_keep_nan(float acc, float v) { return v > acc || v != v ? v : acc; }

  size_t channel_axis(size_t rank) const { return channels_first_ ? 1 : rank - 1; }

  float reduce_contiguous(const float* x, int64_t len) const {
    if (mode_ == PoolMode::kMax) {
      float m = -std::numeric_limits<float>::infinity();
      for (int64_t i = 0; i < len; ++i) m = max_keep_nan(m, x[i]);
      return m;
    }
    double sum = 0.0;
    for (int64_t i = 0; i < len; ++i) sum += x[i];
    return static_cast<float>(sum / static_cast<double>(len));
  }

  PoolMode mode_;
  bool keepdims_, channels_first_;
};

}  // namespace

void register_pooling_ops(OpRegistry& r) {
  OpTraits pool;
  // A non-overlapping 'valid' 2D window (strides = pool_size) folds into the
  // op before it when that op has a pool_fused_type (conv2d -> conv2d_pool).
  pool.fusable_pool_window = [](const OpNode& n) {
    const std::vector<int64_t> size = n.attr_ints("pool_size");
    const bool fusable = n.outputs.size() == 1 && n.attr_str("padding", "valid") == "valid" &&
                         size.size() == 2 && n.attr_ints("strides", size) == size;
    return fusable ? size : std::vector<int64_t>{};
  };
  // A preceding 2D ZeroPadding folds in as 'explicit' pads (zeros that take
  // part in every window): its padded copy never goes through memory
  // (ResNet50's pool1, 112 x 112 x 64). TFJS_INFER_POOL_FOLD_PAD=0 (read at
  // import): never, for A/B measurements.
  pool.pad_fold_rank = env_is("TFJS_INFER_POOL_FOLD_PAD", "0") ? 0 : 2;
  r["pool"] = OpEntry(
      [](const OpNode& n, const KernelTable& k) { return std::make_unique<PoolOp>(n, k); }, pool);
  r["global_pool"] = [](const OpNode& n, const KernelTable& k) {
    return std::make_unique<GlobalPoolOp>(n, k);
  };
}

}  // namespace tfjs_infer
