// Op family 'resize': "resize" resamples the H and W axes of an NHWC tensor
// (UpSampling2D, Resizing, CenterCrop, RandomCrop at inference). The pad and
// repeat ops of the same layers live in pad.cpp.
//
// Two coordinate conventions, because TF.js and Keras differ
// (TFJS-FORMAT.md 5.3 and pitfall 10):
// - "asymmetric": TF.js's resizeBilinear / resizeNearestNeighbor with
//   align_corners = half_pixel_centers = false: src = dst * in / out, computed
//   in float64 as TF.js's JavaScript does;
// - "half_pixel": TF's tf.image.resize (Keras 2 and 3): src = (dst + 0.5) *
//   in / out - 0.5 (nearest: floor((dst + 0.5) * in / out)), computed in
//   float32 as TF's C++ kernels do.
// "crop" picks a source window first: "none" (the whole image), "aspect"
// (Keras smart_resize: the largest centred window with the target's aspect
// ratio) or "center" (Keras CenterCrop: an exact centred slice when the input
// is at least the target size, else smart_resize).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/threading.h"
#include "ops/registry.h"
#include "ops/resize_taps.h"
#include "ops/shape_rules.h"

namespace tfjs_infer {

void register_pad_ops(OpRegistry& r);
void register_category_encoding_ops(OpRegistry& r);

namespace {

enum class Method { kNearest, kBilinear };
enum class Coords { kAsymmetric, kHalfPixel };
enum class Crop { kNone, kAspect, kCenter };

// The source window [start, start + len) of one axis, and the output length.
struct Window {
  int64_t start = 0, len = 0;
};

using Tap = ResizeTap;  // resize_taps.h

class ResizeOp final : public Op {
 public:
  ResizeOp(const OpNode& node, const KernelTable&) : Op(node) {
    node.require_inputs(1, 1);
    const std::string m = node.attr_str("method", "bilinear");
    if (m == "nearest")
      method_ = Method::kNearest;
    else if (m == "bilinear")
      method_ = Method::kBilinear;
    else
      fail(ErrorKind::kUnsupported,
           where() + ": interpolation '" + m + "' is not supported (nearest, bilinear)");
    const std::string c = node.attr_str("coords", "half_pixel");
    if (c == "asymmetric")
      coords_ = Coords::kAsymmetric;
    else if (c == "half_pixel")
      coords_ = Coords::kHalfPixel;
    else
      fail(ErrorKind::kInvalidModel, where() + ": unknown coordinate mode '" + c + "'");
    const std::string cr = node.attr_str("crop", "none");
    if (cr == "none")
      crop_ = Crop::kNone;
    else if (cr == "aspect")
      crop_ = Crop::kAspect;
    else if (cr == "center")
      crop_ = Crop::kCenter;
    else
      fail(ErrorKind::kInvalidModel, where() + ": unknown crop mode '" + cr + "'");
    size_ = node.attr_ints("size", {});
    scale_ = node.attr_ints("scale", {});
    if (size_.size() + scale_.size() != 2 || (size_.size() != 2 && scale_.size() != 2))
      fail(ErrorKind::kInvalidModel, where() + ": give either 'size' or 'scale' with 2 entries");
    for (int64_t v : size_.empty() ? scale_ : size_)
      if (v < 1)
        fail(ErrorKind::kInvalidModel, where() + ": output size " +
                                           shape_str(size_.empty() ? scale_ : size_) +
                                           " must be positive");
  }

  std::vector<ValueType> infer(const std::vector<ValueType>& in) const override {
    const Shape& s = in[0].shape;
    if (s.size() != 4)
      shape_error(
          "expected an input of rank 4 (batch, height, width, "
          "channels), received " +
          shape_str(s));
    if ((known(s[1]) && s[1] < 1) || (known(s[2]) && s[2] < 1))
      shape_error("cannot resize an empty image " + shape_str(s));
    const Shape o = {s[0], out_h(s[1]), out_w(s[2]), s[3]};
    return {{o, DType::kFloat32}};
  }

  size_t scratch_bytes(const std::vector<ValueType>& in) const override {
    const Shape& s = in[0].shape;
    return static_cast<size_t>(out_h(s[1]) + out_w(s[2])) * sizeof(Tap);
  }

  // What run() computes for an input of (ih, iw), for resize_taps().
  ResizeTaps taps(int64_t ih, int64_t iw) const {
    ResizeTaps t;
    t.oh = out_h(ih), t.ow = out_w(iw);
    t.bilinear = method_ == Method::kBilinear;
    t.half_pixel = coords_ == Coords::kHalfPixel;
    Window wh, ww;
    t.exact_slice = windows(ih, iw, &wh, &ww);
    t.h_start = wh.start, t.w_start = ww.start;
    if (!t.exact_slice) {
      t.h.resize(static_cast<size_t>(t.oh));
      t.w.resize(static_cast<size_t>(t.ow));
      make_taps(wh, t.oh, t.h.data());
      make_taps(ww, t.ow, t.w.data());
    }
    return t;
  }

  void run(const RunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const Shape& s = in[0].shape;
    const int64_t n = s[0], ih = s[1], iw = s[2], c = s[3];
    const int64_t oh = out_h(ih), ow = out_w(iw);
    Window wh, ww;
    const bool exact_slice = windows(ih, iw, &wh, &ww);

    const float* x = in[0].f32();
    float* y = out[0].f32();
    const int64_t rows = n * oh;
    if (exact_slice) {
      const int threads = threads_for(ctx.num_threads, rows * ow * c, rows);
      parallel_for(rows, threads, [&](int64_t row) {
        const int64_t b = row / oh, r = row % oh;
        std::memcpy(y + row * ow * c, x + ((b * ih + wh.start + r) * iw + ww.start) * c,
                    static_cast<size_t>(ow * c) * sizeof(float));
      });
      return;
    }

    Tap* th = static_cast<Tap*>(ctx.scratch);
    Tap* tw = th + oh;
    make_taps(wh, oh, th);
    make_taps(ww, ow, tw);
    const int64_t work = rows * ow * c * (method_ == Method::kBilinear ? 8 : 1);
    const int threads = threads_for(ctx.num_threads, work, rows);
    parallel_for(rows, threads, [&](int64_t row) {
      const int64_t b = row / oh, r = row % oh;
      float* yr = y + row * ow * c;
      const float* top = x + (b * ih + th[r].lo) * iw * c;
      if (method_ == Method::kNearest) {
        for (int64_t j = 0; j < ow; ++j)
          std::memcpy(yr + j * c, top + tw[j].lo * c, static_cast<size_t>(c) * sizeof(float));
        return;
      }
      const float* bot = x + (b * ih + th[r].hi) * iw * c;
      if (coords_ == Coords::kHalfPixel)
        bilinear_row<float>(top, bot, static_cast<float>(th[r].frac), tw, ow, c, yr);
      else
        bilinear_row<double>(top, bot, th[r].frac, tw, ow, c, yr);
    });
  }

 private:
  int64_t out_h(int64_t ih) const { return size_.empty() ? dim_mul(ih, scale_[0]) : size_[0]; }

  // The source windows for an input of (ih, iw); true when the output is a
  // plain slice of the input (no resampling).
  bool windows(int64_t ih, int64_t iw, Window* wh, Window* ww) const {
    const int64_t oh = out_h(ih), ow = out_w(iw);
    *wh = {0, ih};
    *ww = {0, iw};
    if (crop_ == Crop::kCenter && ih >= oh && iw >= ow) {
      // Keras CenterCrop: a plain slice starting at ((H - h) / 2, (W - w) / 2).
      *wh = {(ih - oh) / 2, oh};
      *ww = {(iw - ow) / 2, ow};
      return true;
    }
    if (crop_ != Crop::kNone) aspect_window(ih, iw, oh, ow, wh, ww);
    // tf.image.resize returns the image untouched when the size does not
    // change; TF.js's kernels map every index to itself then.
    return wh->len == oh && ww->len == ow;
  }
  int64_t out_w(int64_t iw) const { return size_.empty() ? dim_mul(iw, scale_[1]) : size_[1]; }

  // Keras smart_resize's window, with its float32 arithmetic and truncation
  // (tf_keras image_utils.smart_resize; Keras 3 also clamps to >= 1).
  static void aspect_window(int64_t ih, int64_t iw, int64_t oh, int64_t ow, Window* wh,
                            Window* ww) {
    int64_t ch = static_cast<int64_t>(static_cast<float>(iw * oh) / static_cast<float>(ow));
    int64_t cw = static_cast<int64_t>(static_cast<float>(ih * ow) / static_cast<float>(oh));
    ch = std::max<int64_t>(std::min(ih, ch), 1);
    cw = std::max<int64_t>(std::min(iw, cw), 1);
    *wh = {static_cast<int64_t>(static_cast<float>(ih - ch) / 2.0f), ch};
    *ww = {static_cast<int64_t>(static_cast<float>(iw - cw) / 2.0f), cw};
  }

  void make_taps(const Window& win, int64_t out, Tap* taps) const {
    const int64_t in = win.len;
    for (int64_t o = 0; o < out; ++o) {
      Tap t{0, 0, 0.0};
      if (coords_ == Coords::kAsymmetric) {
        // TF.js (JavaScript numbers): ratio = in / out, src = ratio * o.
        const double src = (static_cast<double>(in) / static_cast<double>(out)) * o;
        if (method_ == Method::kNearest) {
          t.lo = std::min<int64_t>(in - 1, static_cast<int64_t>(std::floor(src)));
        } else {
          t.lo = std::max<int64_t>(0, static_cast<int64_t>(std::floor(src)));
          t.hi = std::min<int64_t>(in - 1, static_cast<int64_t>(std::ceil(src)));
          t.frac = src - static_cast<double>(t.lo);
        }
      } else {
        // TF (float): scale = in / out; nearest floor((o + 0.5) * scale),
        // bilinear (o + 0.5) * scale - 0.5 with lerp = src - floor(src).
        const float scale = static_cast<float>(in) / static_cast<float>(out);
        if (method_ == Method::kNearest) {
          const float src = (static_cast<float>(o) + 0.5f) * scale;
          t.lo = std::max<int64_t>(
              0, std::min<int64_t>(in - 1, static_cast<int64_t>(std::floor(src))));
        } else {
          const float src = (static_cast<float>(o) + 0.5f) * scale - 0.5f;
          const float fl = std::floor(src);
          t.lo = std::max<int64_t>(0, static_cast<int64_t>(fl));
          t.hi = std::min<int64_t>(in - 1, static_cast<int64_t>(std::ceil(src)));
          t.frac = static_cast<double>(src - fl);
        }
      }
      t.lo += win.start;
      t.hi = (method_ == Method::kNearest ? t.lo : t.hi + win.start);
      taps[o] = t;
    }
  }

  // top + (bottom - top) * dy of the two horizontal lerps, in T arithmetic
  // (float for TF, double for TF.js), as both kernels compute it.
  template <typename T>
  static void bilinear_row(const float* top, const float* bot, T dy, const Tap* tw, int64_t ow,
                           int64_t c, float* yr) {
    for (int64_t j = 0; j < ow; ++j) {
      const float* tl = top + tw[j].lo * c;
      const float* tr = top + tw[j].hi * c;
      const float* bl = bot + tw[j].lo * c;
      const float* br = bot + tw[j].hi * c;
      const T dx = static_cast<T>(tw[j].frac);
      float* yo = yr + j * c;
      for (int64_t ch = 0; ch < c; ++ch) {
        const T t = T(tl[ch]) + (T(tr[ch]) - T(tl[ch])) * dx;
        const T b = T(bl[ch]) + (T(br[ch]) - T(bl[ch])) * dx;
        yo[ch] = static_cast<float>(t + (b - t) * dy);
      }
    }
  }

  Method method_ = Method::kBilinear;
  Coords coords_ = Coords::kHalfPixel;
  Crop crop_ = Crop::kNone;
  Shape size_, scale_;
};

}  // namespace

ResizeTaps resize_taps(const OpNode& node, int64_t ih, int64_t iw) {
  static const KernelTable unused{};  // the op's constructor does not read it
  return ResizeOp(node, unused).taps(ih, iw);
}

void register_resize_ops(OpRegistry& r) {
  r["resize"] = [](const OpNode& n, const KernelTable& k) {
    return std::make_unique<ResizeOp>(n, k);
  };
  register_pad_ops(r);
  register_category_encoding_ops(r);
}

}  // namespace tfjs_infer
