// "pad": zero padding and cropping of any non-batch axis in one op
// (ZeroPadding1D/2D/3D, Cropping1D/2D/3D in either data format), and
// "upsample": repeats every element `r` times along each non-batch axis
// (UpSampling1D/3D, and nearest UpSampling2D with Keras semantics).
//
// Both first merge trailing axes that are copied whole (no padding, no
// repeat) into the innermost one, then walk the output as rows of that axis:
// a row maps to one source row (or to zeros), so each row is a few memcpy
// calls and rows run in parallel. No allocation at run time.
#include <cstring>

#include "core/threading.h"
#include "ops/registry.h"
#include "ops/shape_rules.h"

namespace tfjs_infer {

// Registered from register_resize_ops (resize.cpp): the same family of
// data-movement ops for image layers.
void register_pad_ops(OpRegistry& r);

namespace {

constexpr size_t kMaxRank = 8;

// A tensor shape with trailing axes merged: dims[0..rank), per-axis begin/end
// (pad) or repeat counts.
struct Folded {
  size_t rank = 0;
  int64_t in[kMaxRank] = {}, out[kMaxRank] = {}, a[kMaxRank] = {}, b[kMaxRank] = {};
};

// Row-major row strides (in rows of the last axis) of the first rank - 1 axes.
void row_strides(const int64_t* dims, size_t rank, int64_t* st) {
  st[rank - 2] = 1;
  for (size_t d = rank - 2; d-- > 0;) st[d] = st[d + 1] * dims[d + 1];
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
      o[i + 1] = known(s[i + 1]) ? s[i + 1] + begin_[i] + end_[i] : kUnknownDim;  // crops < 0
      if (known(o[i + 1]) && o[i + 1] <= 0)
        shape_error("cropping (" + std::to_string(-begin_[i]) + ", " + std::to_string(-end_[i]) +
                    ") removes every one of the " + std::to_string(s[i + 1]) + " entries of axis " +
                    std::to_string(i + 1) + " (input " + shape_str(s) + ")");
    }
    return {{o, in[0].dtype}};
  }

  void run(const RunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    // Fold: an unpadded trailing axis joins the one before it (whose pads
    // scale by its size), e.g. NHWC padded on H, W only -> (N, H, W * C).
    Folded f;
    f.rank = out[0].shape.size();
    for (size_t d = 0; d < f.rank; ++d) {
      f.in[d] = in[0].shape[d];
      f.out[d] = out[0].shape[d];
      f.a[d] = d == 0 ? 0 : begin_[d - 1];
      f.b[d] = d == 0 ? 0 : end_[d - 1];
    }
    while (f.rank > 2 && f.a[f.rank - 1] == 0 && f.b[f.rank - 1] == 0) {
      const int64_t inner = f.in[f.rank - 1];
      --f.rank;
      f.in[f.rank - 1] *= inner;
      f.out[f.rank - 1] *= inner;
      f.a[f.rank - 1] *= inner;
      f.b[f.rank - 1] *= inner;
    }
    const size_t rank = f.rank;
    const int64_t in_len = f.in[rank - 1], out_len = f.out[rank - 1];
    const int64_t b_last = f.a[rank - 1];
    // The source span of a row along the last axis: output [lo, hi) reads
    // input [lo - b_last, hi - b_last); the rest is zero.
    const int64_t lo = b_last > 0 ? b_last : 0;
    const int64_t hi = in_len + b_last < out_len ? in_len + b_last : out_len;
    int64_t in_st[kMaxRank];
    row_strides(f.in, rank, in_st);
    int64_t rows = 1;
    for (size_t d = 0; d + 1 < rank; ++d) rows *= f.out[d];
    const uint32_t* x = static_cast<const uint32_t*>(in[0].data);
    uint32_t* y = static_cast<uint32_t*>(out[0].data);
    const int threads = threads_for(ctx.num_threads, rows * out_len, rows);
    parallel_for(rows, threads, [&](int64_t row) {
      uint32_t* yr = y + row * out_len;
      int64_t rem = row, src = 0;
      bool inside = true;
      for (size_t d = rank - 1; d-- > 0;) {
        const int64_t o = rem % f.out[d];
        rem /= f.out[d];
        const int64_t i = o - f.a[d];
        if (i < 0 || i >= f.in[d]) {
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
    for (size_t i = 0; i < reps_.size(); ++i) o[i + 1] = dim_mul(s[i + 1], reps_[i]);
    return {{o, in[0].dtype}};
  }

  void run(const RunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    // Fold trailing unrepeated axes into an element block of `inner` values:
    // NHWC upsampled on H, W -> (N, H, W) rows of W blocks of C values.
    Folded f;
    f.rank = out[0].shape.size();
    for (size_t d = 0; d < f.rank; ++d) {
      f.in[d] = in[0].shape[d];
      f.out[d] = out[0].shape[d];
      f.a[d] = d == 0 ? 1 : reps_[d - 1];
    }
    int64_t inner = 1;
    while (f.rank > 2 && f.a[f.rank - 1] == 1) inner *= f.in[--f.rank];
    const size_t rank = f.rank;
    const int64_t in_len = f.in[rank - 1], rep = f.a[rank - 1];
    const int64_t out_row = in_len * rep * inner;
    int64_t in_st[kMaxRank];
    row_strides(f.in, rank, in_st);
    int64_t rows = 1;
    for (size_t d = 0; d + 1 < rank; ++d) rows *= f.out[d];
    const uint32_t* x = static_cast<const uint32_t*>(in[0].data);
    uint32_t* y = static_cast<uint32_t*>(out[0].data);
    const int threads = threads_for(ctx.num_threads, rows * out_row, rows);
    // Contiguous row ranges per thread, so a row that repeats the one above
    // it (a repeat along the second-to-last folded axis) copies that row in
    // one block from this thread's own output.
    const int64_t rep_rows = f.a[rank - 2], len_rows = f.out[rank - 2];
    parallel_for(threads, threads, [&](int64_t t) {
      const int64_t r0 = rows * t / threads, r1 = rows * (t + 1) / threads;
      for (int64_t row = r0; row < r1; ++row) {
        uint32_t* yr = y + row * out_row;
        if (row > r0 && (row % len_rows) % rep_rows != 0) {
          std::memcpy(yr, yr - out_row, static_cast<size_t>(out_row) * 4);
          continue;
        }
        int64_t rem = row, src = 0;
        for (size_t d = rank - 1; d-- > 0;) {
          const int64_t o = rem % f.out[d];
          rem /= f.out[d];
          src += (o / f.a[d]) * in_st[d];
        }
        const uint32_t* xr = x + src * in_len * inner;
        if (rep == 1) {
          std::memcpy(yr, xr, static_cast<size_t>(out_row) * 4);
        } else if (inner == 1) {
          for (int64_t i = 0; i < in_len; ++i)
            for (int64_t r = 0; r < rep; ++r) yr[i * rep + r] = xr[i];
        } else {
          const size_t bytes = static_cast<size_t>(inner) * 4;
          for (int64_t i = 0; i < in_len; ++i)
            for (int64_t r = 0; r < rep; ++r)
              std::memcpy(yr + (i * rep + r) * inner, xr + i * inner, bytes);
        }
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
