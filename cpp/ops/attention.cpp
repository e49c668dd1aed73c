// Op "attention": the core of Keras MultiHeadAttention, Attention and
// AdditiveAttention after their projections.
//
// Inputs: q (N, Tq, H*Dk), k (N, Tk, G*Dk), v (N, Tk, G*Dv), then the masks
// named by the attr "masks" in order: "full" (N|1, Tq|1, Tk), "query" (N, Tq)
// (rows of masked queries are masked), "key" (N, Tk), "query_out" (N, Tq)
// (outputs of masked queries are zeroed, as Keras Attention does). A mask
// value keeps its position when it is non-zero.
//
// Per (batch, head, query row): logits over the key positions are
//   "dot":      scale * <q_i, k_j>
//   "additive": outer * sum_d add_scale[d] * tanh(inner * (q_i[d] + k_j[d]))
// masked positions (the masks, "causal" j <= i, "window" |i - j| < window)
// are excluded from the softmax; a row with every position masked gives zeros
// when "zero_masked" (Keras's Softmax-layer path) or the mean of v otherwise
// (the fused dot-product path, where all logits are equally large negative).
// Outputs: o (N, Tq, H*Dv) and, with "return_scores", the probabilities
// (N, H, Tq, Tk). G = "kv_heads" (default H) key/value heads serve H / G
// query heads each (GroupedQueryAttention: query head h reads kv head
// h / (H / G)).
#include <algorithm>
#include <cmath>
#include <limits>

#include "core/threading.h"
#include "ops/registry.h"
#include "ops/shape_rules.h"

namespace tfjs_infer {

namespace {

enum class MaskKind { kFull, kQuery, kKey, kQueryOut };

constexpr int64_t kMaxThreads = 64;

class AttentionOp final : public Op {
 public:
  AttentionOp(const OpNode& node, const KernelTable&)
      : Op(node),
        heads_(node.attr_int("heads", 1)),
        kv_heads_(node.attr_int("kv_heads", node.attr_int("heads", 1))),
        scale_(node.attr_float("scale", 1.0)),
        causal_(node.attr_int("causal", 0) != 0),
        window_(node.attr_int("window", 0)),
        zero_masked_(node.attr_int("zero_masked", 0) != 0),
        return_scores_(node.attr_int("return_scores", 0) != 0),
        inner_(node.attr_float("add_inner", 1.0)),
        outer_(node.attr_float("add_outer", 1.0)) {
    const std::string mode = node.attr_str("score", "dot");
    if (mode != "dot" && mode != "additive")
      fail(ErrorKind::kInvalidModel, where() + ": unknown score '" + mode + "'");
    additive_ = mode == "additive";
    if (heads_ < 1 || kv_heads_ < 1 || heads_ % kv_heads_ || window_ < 0)
      fail(ErrorKind::kInvalidModel, where() + ": bad heads, kv_heads or window");
    for (const std::string& m : split(node.attr_str("masks", ""))) {
      if (m == "full")
        masks_.push_back(MaskKind::kFull);
      else if (m == "query")
        masks_.push_back(MaskKind::kQuery);
      else if (m == "key")
        masks_.push_back(MaskKind::kKey);
      else if (m == "query_out")
        masks_.push_back(MaskKind::kQueryOut);
      else
        fail(ErrorKind::kInvalidModel, where() + ": unknown mask kind '" + m + "'");
    }
    node.require_inputs(3 + masks_.size(), 3 + masks_.size());
    if (const WeightTensor* s = node.weight("add_scale")) {
      add_scale_.reset(s->f32.size());
      std::copy(s->f32.begin(), s->f32.end(), add_scale_.data());
    }
  }

  std::vector<ValueType> infer(const std::vector<ValueType>& in) const override {
    const Shape &q = in[0].shape, &k = in[1].shape, &v = in[2].shape;
    for (size_t i = 0; i < 3; ++i)
      if (in[i].shape.size() != 3 || in[i].dtype != DType::kFloat32)
        shape_error("query, key and value must be float32 of rank 3, received " +
                    shape_str(in[i].shape));
    if (!dims_fit(k[0], q[0]) || !dims_fit(v[0], q[0]) || !dims_fit(k[1], v[1]))
      shape_error("key " + shape_str(k) + " and value " + shape_str(v) + " do not fit query " +
                  shape_str(q));
    if (!known(q[2]) || !known(k[2]) || !known(v[2]))
      shape_error("query, key and value need known feature sizes, received " + shape_str(q) + ", " +
                  shape_str(k) + " and " + shape_str(v));
    if (q[2] % heads_ || k[2] % kv_heads_ || v[2] % kv_heads_ || q[2] / heads_ != k[2] / kv_heads_)
      shape_error("query " + shape_str(q) + " and key " + shape_str(k) + " do not split into " +
                  std::to_string(heads_) + " and " + std::to_string(kv_heads_) + " heads");
    if (additive_ && add_scale_.size() && static_cast<int64_t>(add_scale_.size()) != q[2])
      shape_error("additive scale of size " + std::to_string(add_scale_.size()) +
                  " does not fit query " + shape_str(q));
    for (size_t m = 0; m < masks_.size(); ++m) {
      const Shape& s = in[3 + m].shape;
      bool ok;
      switch (masks_[m]) {
        case MaskKind::kFull:
          ok = s.size() == 3 && (dims_fit(s[0], q[0]) || s[0] == 1) &&
               (dims_fit(s[1], q[1]) || s[1] == 1) && dims_fit(s[2], k[1]);
          break;
        case MaskKind::kKey:
          ok = s.size() == 2 && dims_fit(s[0], q[0]) && dims_fit(s[1], k[1]);
          break;
        default:
          ok = s.size() == 2 && dims_fit(s[0], q[0]) && dims_fit(s[1], q[1]);
      }
      if (!ok)
        shape_error("attention mask of shape " + shape_str(s) + " does not fit query " +
                    shape_str(q) + " and key " + shape_str(k));
    }
    std::vector<ValueType> out = {{{q[0], q[1], v[2] / kv_heads_ * heads_}, DType::kFloat32}};
    if (return_scores_) out.push_back({{q[0], heads_, q[1], k[1]}, DType::kFloat32});
    return out;
  }

  size_t scratch_bytes(const std::vector<ValueType>& in) const override {
    // Per thread (at most kMaxThreads): the keys of one head transposed to
    // (Dk, Tk) and one logits row.
    const size_t tk = static_cast<size_t>(in[1].shape[1]);
    const size_t dk = static_cast<size_t>(in[0].shape[2] / heads_);
    return (dk + 1) * tk * sizeof(float) * kMaxThreads;
  }

  void run(const RunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const int64_t n = in[0].shape[0], tq = in[0].shape[1], tk = in[1].shape[1];
    const int64_t pairs = n * heads_;  // one task per (batch row, head)
    if (pairs == 0 || tq == 0) return;
    const int64_t dk = in[0].shape[2] / heads_, dv = in[2].shape[2] / kv_heads_;
    const int64_t work = pairs * tq * tk * (dk + dv) * 2;
    const int threads =
        static_cast<int>(std::min<int64_t>(threads_for(ctx.num_threads, work, pairs), kMaxThreads));
    float* scratch = static_cast<float*>(ctx.scratch);
    parallel_for(threads, threads, [&](int64_t t) {
      float* keys_t = scratch + t * (dk + 1) * tk;
      float* logits = keys_t + dk * tk;
      for (int64_t pair = pairs * t / threads; pair < pairs * (t + 1) / threads; ++pair) {
        const int64_t b = pair / heads_, h = pair % heads_;
        if (!additive_) transpose_keys(in[1], b, h, tk, dk, keys_t);
        for (int64_t i = 0; i < tq; ++i) row(in, out, b, h, i, tq, tk, dk, dv, keys_t, logits);
      }
    });
  }

 private:
  static std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> parts;
    size_t start = 0;
    while (start < s.size()) {
      size_t end = s.find(',', start);
      if (end == std::string::npos) end = s.size();
      if (end > start) parts.push_back(s.substr(start, end - start));
      start = end + 1;
    }
    return parts;
  }

  static bool keep(const TensorView& m, int64_t index) {
    return m.dtype == DType::kInt32 ? m.i32()[index] != 0 : m.f32()[index] != 0.0f;
  }

  // Whether key j may be attended from query i of batch b.
  bool allowed(const std::vector<TensorView>& in, int64_t b, int64_t i, int64_t j, int64_t tq,
               int64_t tk) const {
    if (causal_ && j > i) return false;
    if (window_ && std::abs(i - j) >= window_) return false;
    for (size_t m = 0; m < masks_.size(); ++m) {
      const TensorView& t = in[3 + m];
      switch (masks_[m]) {
        case MaskKind::kFull: {
          const int64_t bb = t.shape[0] == 1 ? 0 : b, ii = t.shape[1] == 1 ? 0 : i;
          if (!keep(t, (bb * t.shape[1] + ii) * tk + j)) return false;
          break;
        }
        case MaskKind::kQuery:
          if (!keep(t, b * tq + i)) return false;
          break;
        case MaskKind::kKey:
          if (!keep(t, b * tk + j)) return false;
          break;
        case MaskKind::kQueryOut:
          break;
      }
    }
    return true;
  }

  bool zero_output(const std::vector<TensorView>& in, int64_t b, int64_t i, int64_t tq) const {
    for (size_t m = 0; m < masks_.size(); ++m)
      if (masks_[m] == MaskKind::kQueryOut && !keep(in[3 + m], b * tq + i)) return true;
    return false;
  }

  // Keys of batch row b for query head h, as (Dk, Tk): the logits loop then
  // runs over contiguous keys (vectorizable), each logit still summed over d
  // in order.
  void transpose_keys(const TensorView& k, int64_t b, int64_t h, int64_t tk, int64_t dk,
                      float* keys_t) const {
    const int64_t kstride = kv_heads_ * dk, g = h / (heads_ / kv_heads_);
    const float* src = k.f32() + b * tk * kstride + g * dk;
    for (int64_t j = 0; j < tk; ++j)
      for (int64_t d = 0; d < dk; ++d) keys_t[d * tk + j] = src[j * kstride + d];
  }

  void row(const std::vector<TensorView>& in, const std::vector<TensorView>& out, int64_t b,
           int64_t h, int64_t i, int64_t tq, int64_t tk, int64_t dk, int64_t dv,
           const float* keys_t, float* logits) const {
    const int64_t qstride = heads_ * dk, kstride = kv_heads_ * dk, vstride = kv_heads_ * dv;
    const int64_t g = h / (heads_ / kv_heads_);  // the key/value head of query head h
    const float* q = in[0].f32() + (b * tq + i) * qstride + h * dk;
    const float* k = in[1].f32() + b * tk * kstride + g * dk;
    const float* v = in[2].f32() + b * tk * vstride + g * dv;
    float* o = out[0].f32() + (b * tq + i) * heads_ * dv + h * dv;
    float* scores = return_scores_ ? out[1].f32() + ((b * heads_ + h) * tq + i) * tk : nullptr;
    const float neg = -std::numeric_limits<float>::infinity();
    if (additive_) {
      for (int64_t j = 0; j < tk; ++j) {
        const float* kj = k + j * kstride;
        float s = 0.0f;
        for (int64_t d = 0; d < dk; ++d) {
          const float w = add_scale_.size() ? add_scale_[h * dk + d] : 1.0f;
          s += w * std::tanh(static_cast<float>(inner_) * (q[d] + kj[d]));
        }
        logits[j] = s * static_cast<float>(outer_);
      }
    } else {
      for (int64_t j = 0; j < tk; ++j) logits[j] = 0.0f;
      for (int64_t d = 0; d < dk; ++d) {
        const float qd = q[d];
        const float* kd = keys_t + d * tk;
        for (int64_t j = 0; j < tk; ++j) logits[j] += qd * kd[j];
      }
      const float scale = static_cast<float>(scale_);
      for (int64_t j = 0; j < tk; ++j) logits[j] *= scale;
    }
    float best = neg;
    for (int64_t j = 0; j < tk; ++j) {
      if (!allowed(in, b, i, j, tq, tk)) {
        logits[j] = neg;
        continue;
      }
      // A NaN logit makes the row NaN (softmax in TF; std::max would skip it).
      best = logits[j] > best || logits[j] != logits[j] ? logits[j] : best;
    }
    const bool none = best == neg;
    double sum = 0.0;
    for (int64_t j = 0; j < tk; ++j) {
      const float p = none ? (zero_masked_ ? 0.0f : 1.0f)
                           : (logits[j] == neg ? 0.0f : std::exp(logits[j] - best));
      logits[j] = p;
      sum += p;
    }
    const float inv = sum > 0.0 || sum != sum ? static_cast<float>(1.0 / sum) : 0.0f;
    for (int64_t d = 0; d < dv; ++d) o[d] = 0.0f;
    const bool zero = zero_output(in, b, i, tq);
    for (int64_t j = 0; j < tk; ++j) {
      const float p = logits[j] * inv;
      if (scores) scores[j] = p;
      // p = 0 still multiplies the value: 0 * inf gives NaN there, as in TF.
      if (zero) continue;
      const float* vj = v + j * vstride;
      for (int64_t d = 0; d < dv; ++d) o[d] += p * vj[d];
    }
  }

  int64_t heads_, kv_heads_;
  double scale_;
  bool causal_;
  int64_t window_;
  bool zero_masked_, return_scores_, additive_ = false;
  double inner_, outer_;
  std::vector<MaskKind> masks_;
  Buffer<float> add_scale_;
};

}  // namespace

void register_attention_ops(OpRegistry& r) {
  r["attention"] = [](const OpNode& n, const KernelTable& k) {
    return std::make_unique<AttentionOp>(n, k);
  };
}

}  // namespace tfjs_infer
