// "pool" (max/avg windows over 1 to 3 spatial axes) and "global_pool" on the GPU.
#include <limits>

#include "cuda/kernels/pool.h"
#include "cuda/ops/cuda_op.h"

namespace tfjs_infer {

namespace {

class CudaPool final : public CudaOp {
 public:
  explicit CudaPool(const OpNode& node)
      : where_(node.where()),
        max_(node.attr_str("mode") == "max"),
        same_(node.attr_str("padding", "valid") == "same"),
        pool_(node.attr_ints("pool_size")),
        strides_(node.attr_ints("strides", pool_)) {
    // A folded ZeroPadding (compile/passes.cpp; the CPU op validated the
    // attrs): (before, after) per spatial axis, padded cells are zeros that
    // take part in every window.
    if (node.attr_str("padding", "valid") == "explicit") pads_ = node.attr_ints("pads");
    if (node.attr_int("max_from_lowest", 0) != 0) max_init_ = std::numeric_limits<float>::lowest();
  }

  void run(const CudaRunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    if (out[0].size() == 0) return;
    const Shape& s = in[0].shape;
    const Shape& o = out[0].shape;
    const size_t k = pool_.size();
    // (N, D, H, W, C) with missing leading spatial axes of size 1, as the CPU op.
    int64_t ins[3] = {1, 1, 1}, outs[3] = {1, 1, 1}, ks[3] = {1, 1, 1}, ss[3] = {1, 1, 1},
            pads[3] = {0, 0, 0};
    for (size_t i = 0; i < k; ++i) {
      const size_t j = 3 - k + i;
      ins[j] = s[i + 1], outs[j] = o[i + 1], ks[j] = pool_[i], ss[j] = strides_[i];
      if (same_) {  // TF's rule: the odd cell of padding goes after
        const int64_t total = std::max<int64_t>((outs[j] - 1) * ss[j] + ks[j] - ins[j], 0);
        pads[j] = total / 2;
      } else if (!pads_.empty()) {
        pads[j] = pads_[2 * i];
      }
    }
    PoolArgs a;
    a.max = max_ ? 1 : 0;
    a.max_init = max_init_;
    a.x = in[0].f32(), a.y = out[0].f32(), a.c = s.back();
    a.in_d = ins[0], a.in_h = ins[1], a.in_w = ins[2];
    a.out_d = outs[0], a.out_h = outs[1], a.out_w = outs[2];
    a.k_d = ks[0], a.k_h = ks[1], a.k_w = ks[2];
    a.s_d = ss[0], a.s_h = ss[1], a.s_w = ss[2];
    a.pad_d = pads[0], a.pad_h = pads[1], a.pad_w = pads[2];
    a.zero_pad = pads_.empty() ? 0 : 1;
    check_launch(cuda::pool_f32(a, s[0], ctx.stream), where_);
  }

 private:
  std::string where_;
  bool max_, same_;
  std::vector<int64_t> pool_, strides_, pads_;
  float max_init_ = -std::numeric_limits<float>::infinity();
};

class CudaGlobalPool final : public CudaOp {
 public:
  explicit CudaGlobalPool(const OpNode& node)
      : where_(node.where()),
        max_(node.attr_str("mode") == "max"),
        channels_first_(node.attr_int("channels_first", 0) != 0) {}

  void run(const CudaRunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const Shape& s = in[0].shape;
    cuda::GlobalPoolArgs a;
    a.max = max_ ? 1 : 0;
    a.channels_first = channels_first_ ? 1 : 0;
    a.x = in[0].f32(), a.y = out[0].f32();
    a.n = s[0];
    a.c = channels_first_ ? s[1] : s.back();
    a.spatial = a.n * a.c > 0 ? in[0].size() / (a.n * a.c) : 0;
    if (a.n * a.c == 0) return;
    check_launch(cuda::global_pool_f32(a, ctx.stream), where_);
  }

 private:
  std::string where_;
  bool max_, channels_first_;
};

}  // namespace

void register_cuda_pooling_ops(CudaOpRegistry& r) {
  r["pool"] = [](const OpNode& n) -> CudaOpPtr {
    const std::string mode = n.attr_str("mode", "");
    if ((mode != "max" && mode != "avg") || n.attr_ints("pool_size", {}).size() > 3) return nullptr;
    return std::make_unique<CudaPool>(n);
  };
  r["global_pool"] = [](const OpNode& n) -> CudaOpPtr {
    const std::string mode = n.attr_str("mode", "");
    if (mode != "max" && mode != "avg") return nullptr;
    return std::make_unique<CudaGlobalPool>(n);
  };
}

}  // namespace tfjs_infer
