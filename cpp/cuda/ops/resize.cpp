// "resize" on the GPU (UpSampling2D bilinear/nearest, Resizing, CenterCrop):
// the CPU op's own source taps (ops/resize_taps.h) uploaded once per input
// size, then the resize kernel (cuda/kernels/resize.cu); a plain slice (an
// exact centre crop, or no size change) is a crop through the pad kernel.
#include <map>
#include <mutex>
#include <utility>

#include "cuda/kernels/resize.h"
#include "cuda/ops/cuda_op.h"
#include "ops/resize_taps.h"

namespace tfjs_infer {

namespace {

class CudaResize final : public CudaOp {
 public:
  explicit CudaResize(const OpNode& node) : node_(node), where_(node.where()) {}

  void run(const CudaRunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const Shape& s = in[0].shape;
    const int64_t n = s[0], ih = s[1], iw = s[2], c = s[3];
    if (out[0].size() == 0) return;
    const Entry& e = entry(ih, iw);
    const ResizeTaps& t = e.taps;
    if (t.exact_slice) {
      cuda::PadArgs p;
      p.rank = 4;
      const int64_t in_dims[4] = {n, ih, iw, c}, out_dims[4] = {n, t.oh, t.ow, c};
      for (int d = 0; d < 4; ++d) p.in_dims[d] = in_dims[d], p.out_dims[d] = out_dims[d];
      p.begin[1] = -t.h_start, p.begin[2] = -t.w_start;
      p.x = in[0].f32(), p.y = out[0].f32();
      check_launch(cuda::pad_f32(p, ctx.stream), where_);
      return;
    }
    const int64_t* idx = reinterpret_cast<const int64_t*>(e.device.data());
    const double* frac = reinterpret_cast<const double*>(idx + 2 * (t.oh + t.ow));
    cuda::ResizeArgs r;
    r.x = in[0].f32(), r.y = out[0].f32();
    r.n = n, r.ih = ih, r.iw = iw, r.c = c, r.oh = t.oh, r.ow = t.ow;
    r.bilinear = t.bilinear ? 1 : 0, r.frac_f64 = t.half_pixel ? 0 : 1;
    r.h_lo = idx, r.h_hi = idx + t.oh, r.w_lo = idx + 2 * t.oh, r.w_hi = idx + 2 * t.oh + t.ow;
    r.h_frac = frac, r.w_frac = frac + t.oh;
    check_launch(cuda::resize_f32(r, ctx.stream), where_);
  }

 private:
  // One input size's taps, and their device copy: [h_lo, h_hi, w_lo, w_hi]
  // as int64 then [h_frac, w_frac] as float64.
  struct Entry {
    ResizeTaps taps;
    CudaBuffer device;
  };

  const Entry& entry(int64_t ih, int64_t iw) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = cache_.find({ih, iw});
    if (it != cache_.end()) return it->second;
    Entry e;
    e.taps = resize_taps(node_, ih, iw);
    if (!e.taps.exact_slice) {
      const ResizeTaps& t = e.taps;
      std::vector<int64_t> idx;
      std::vector<double> frac;
      for (const auto* taps : {&t.h, &t.w}) {
        for (const ResizeTap& tap : *taps) idx.push_back(tap.lo);
        for (const ResizeTap& tap : *taps) idx.push_back(tap.hi);
        for (const ResizeTap& tap : *taps) frac.push_back(tap.frac);
      }
      const size_t idx_bytes = idx.size() * sizeof(int64_t);
      const size_t frac_bytes = frac.size() * sizeof(double);
      e.device = CudaBuffer(CudaBuffer::Kind::kDevice, idx_bytes + frac_bytes);
      check_cuda(cudaMemcpy(e.device.data(), idx.data(), idx_bytes, cudaMemcpyHostToDevice),
                 "cudaMemcpy (resize taps)");
      check_cuda(
          cudaMemcpy(e.device.data() + idx_bytes, frac.data(), frac_bytes, cudaMemcpyHostToDevice),
          "cudaMemcpy (resize taps)");
    }
    return cache_.emplace(std::make_pair(ih, iw), std::move(e)).first->second;
  }

  OpNode node_;
  std::string where_;
  mutable std::mutex mutex_;
  mutable std::map<std::pair<int64_t, int64_t>, Entry> cache_;
};

}  // namespace

void register_cuda_resize_ops(CudaOpRegistry& r) {
  r["resize"] = [](const OpNode& n) -> CudaOpPtr { return std::make_unique<CudaResize>(n); };
}

}  // namespace tfjs_infer
