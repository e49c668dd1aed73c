// "pad": zero padding and cropping of any non-batch axis in one op
// (ZeroPadding1D/2D/3D, Cropping1D/2D/3D in either data format), and
// "upsample": repeats every element `r` times along each non-batch axis
// (UpSampling1D/3D, and nearest UpSampling2D with Keras semantics).
//
// Both walk the output as rows of the innermost axis; a row maps to one
// source row (or to zeros), so each row is a copy and rows run in parallel.
#include <cstring>

#include "core/threading.h"
#include "ops/registry.h"

namespace tfjs_infer {

// Registered from register_resize_ops (resize.cpp): the same family of
// data-movement ops for image layers.
void register_pad_ops(OpRegistry& r);

namespace {

// Row-major strides of the input over axes [0, rank-1), in rows of the last
// axis.
std::vector<int64_t> row_strides(const Shape& s) {
  std::vector<int64_t> st(s.size() - 1, 1);
  for (size_t d = s.size() - 1; d-- > 1;) st[d - 1] = st[d] * s[d];
  return st;
}

// begin[i] / end[i] (axis i + 1) add rows when positive, remove them when
// negative: out = in + begin + end.
class PadOp final : public Op {
 public:
  PadOp(const OpNode& node, const KernelTable&)
      : Op(node), begin_(node.attr_ints("begin")), end_(node.attr_ints("end")) {
    node.require_inputs(1, 1);
    if (begin_.empty() || begin_.size() != end_.size())
      fail(ErrorKind::kInvalidModel, where() + ": begin " + shape_str(begin_) + " and end " +
                                         shape_str(end_) + " must have one entry per axis");
  }

  std::vector<ValueType> infer(const std::vector<ValueType>& in) const override {
    const Shape& s = in[0].shape;
    if (s.size() != begin_.size() + 1)
      shape_error("expected an input of rank " + std::to_string(begin_.size() + 1) + ", received " +
                  shape_str(s));
    Shape o = s;
    for (size_t i = 0; i < begin_.size(); ++i) {
      o[i + 1] = s[i + 1] + begin_[i] + end_[i];
      if (o[i + 1] <= 0)
        shape_error("cropping (" + std::to_string(-begin_[i]) + ", " + std::to_string(-end_[i]) +
                    ") removes every one of the " + std::to_string(s[i + 1]) + " entries of axis " +
                    std::to_string(i + 1) + " (input " + shape_str(s) + ")");
    }
    return {{o, in[0].dtype}};
  }

  void run(const RunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const Shape& is = in[0].shape;
    const Shape& os = out[0].shape;
    const size_t rank = os.size();
    const int64_t in_len = is.back(), out_len = os.back();
    const int64_t b_last = begin_.back();
    // The source span of a row along the last axis: output [lo, hi) reads
    // input [lo - b_last, hi - b_last); the rest is zero.
    const int64_t lo = b_last > 0 ? b_last : 0;
    const int64_t hi = in_len + b_last < out_len ? in_len + b_last : out_len;
    const std::vector<int64_t> in_st = row_strides(is);
    int64_t rows = 1;
    for (size_t d = 0; d + 1 < rank; ++d) rows *= os[d];
    const uint32_t* x = static_cast<const uint32_t*>(in[0].data);
    uint32_t* y = static_cast<uint32_t*>(out[0].data);
    const int threads = threads_for(ctx.num_threads, rows * out_len, rows);
    parallel_for(rows, threads, [&](int64_t row) {
      uint32_t* yr = y + row * out_len;
      int64_t rem = row, src = 0;
      bool inside = true;
      for (size_t d = rank - 1; d-- > 0;) {
        const int64_t o = rem % os[d];
        rem /= os[d];
        const int64_t i = d == 0 ? o : o - begin_[d - 1];
        if (i < 0 || i >= is[d]) {
          inside = false;
          break;
        }
        src += i * in_st[d];
      }
      if (!inside || hi <= lo) {
        std::memset(yr, 0, static_cast<size_t>(out_len) * 4);
        return;
      }
      const uint32_t* xr = x + src * in_len;
      if (lo > 0) std::memset(yr, 0, static_cast<size_t>(lo) * 4);
      std::memcpy(yr + lo, xr + (lo - b_last), static_cast<size_t>(hi - lo) * 4);
      if (hi < out_len) std::memset(yr + hi, 0, static_cast<size_t>(out_len - hi) * 4);
    });
  }

 private:
  Shape begin_, end_;
};

class UpsampleOp final : public Op {
 public:
  UpsampleOp(const OpNode& node, const KernelTable&) : Op(node), reps_(node.attr_ints("repeats")) {
    node.require_inputs(1, 1);
    if (reps_.empty())
      fail(ErrorKind::kInvalidModel, where() + ": repeats must have one entry per axis");
    for (int64_t r : reps_)
      if (r < 1)
        fail(ErrorKind::kInvalidModel,
             where() + ": repeats " + shape_str(reps_) + " must be positive");
  }

  std::vector<ValueType> infer(const std::vector<ValueType>& in) const override {
    const Shape& s = in[0].shape;
    if (s.size() != reps_.size() + 1)
      shape_error("expected an input of rank " + std::to_string(reps_.size() + 1) + ", received " +
                  shape_str(s));
    Shape o = s;
    for (size_t i = 0; i < reps_.size(); ++i) o[i + 1] = s[i + 1] * reps_[i];
    return {{o, in[0].dtype}};
  }

  void run(const RunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const Shape& is = in[0].shape;
    const Shape& os = out[0].shape;
    const size_t rank = os.size();
    const int64_t out_len = os.back(), in_len = is.back(), rep_last = reps_.back();
    const std::vector<int64_t> in_st = row_strides(is);
    int64_t rows = 1;
    for (size_t d = 0; d + 1 < rank; ++d) rows *= os[d];
    const uint32_t* x = static_cast<const uint32_t*>(in[0].data);
    uint32_t* y = static_cast<uint32_t*>(out[0].data);
    const int threads = threads_for(ctx.num_threads, rows * out_len, rows);
    parallel_for(rows, threads, [&](int64_t row) {
      int64_t rem = row, src = 0;
      for (size_t d = rank - 1; d-- > 0;) {
        const int64_t o = rem % os[d];
        rem /= os[d];
        src += (d == 0 ? o : o / reps_[d - 1]) * in_st[d];
      }
      const uint32_t* xr = x + src * in_len;
      uint32_t* yr = y + row * out_len;
      if (rep_last == 1) {
        std::memcpy(yr, xr, static_cast<size_t>(in_len) * 4);
      } else {
        for (int64_t i = 0; i < in_len; ++i)
          for (int64_t r = 0; r < rep_last; ++r) yr[i * rep_last + r] = xr[i];
      }
    });
  }

 private:
  Shape reps_;
};

}  // namespace

void register_pad_ops(OpRegistry& r) {
  r["pad"] = [](const OpNode& n, const KernelTable& k) { return std::make_unique<PadOp>(n, k); };
  r["upsample"] = [](const OpNode& n, const KernelTable& k) {
    return std::make_unique<UpsampleOp>(n, k);
  };
}

}  // namespace tfjs_infer
