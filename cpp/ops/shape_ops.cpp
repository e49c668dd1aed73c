// Data-movement ops: "identity", "reshape", "transpose", "repeat_vector",
// "concat".
#include <cstring>

#include "ops/registry.h"
#include "ops/shape_rules.h"

namespace tfjs_infer {

namespace {

void copy_input(const TensorView& in, const TensorView& out) {
  if (in.data != out.data)
    std::memcpy(out.data, in.data, static_cast<size_t>(in.size()) * dtype_size(in.dtype));
}

class IdentityOp final : public Op {
 public:
  IdentityOp(const OpNode& node, const KernelTable&) : Op(node) { node.require_inputs(1, 1); }
  std::vector<ValueType> infer(const std::vector<ValueType>& in) const override { return {in[0]}; }
  void run(const RunContext&, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    copy_input(in[0], out[0]);
  }
};

// (N, ...) -> (N,) + target, where target may hold one -1.
class ReshapeOp final : public Op {
 public:
  ReshapeOp(const OpNode& node, const KernelTable&) : Op(node), target_(node.attr_ints("shape")) {
    node.require_inputs(1, 1);
    int unknown = 0;
    for (int64_t d : target_) {
      if (d == -1) ++unknown;
      if (d < -1 || (d == 0))
        fail(ErrorKind::kInvalidModel, where() + ": bad target shape " + shape_str(target_));
    }
    if (unknown > 1)
      fail(ErrorKind::kInvalidModel, where() + ": target shape has more than one -1");
  }
  std::vector<ValueType> infer(const std::vector<ValueType>& in) const override {
    const Shape& s = in[0].shape;
    if (s.empty()) shape_error("expected an input with a batch axis");
    const int64_t per_row = dims_product(s, 1, s.size());
    int64_t given = 1;
    for (int64_t d : target_) given *= d == -1 ? 1 : d;
    Shape o = {s[0]};
    for (int64_t d : target_)
      o.push_back(d != -1 ? d : !known(per_row) ? kUnknownDim : given ? per_row / given : 0);
    if (known(per_row) && dims_product(o, 1, o.size()) != per_row)
      shape_error("cannot reshape " + shape_str(s) + " to (batch,) + " + shape_str(target_));
    return {{o, in[0].dtype}};
  }
  void run(const RunContext&, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    copy_input(in[0], out[0]);
  }

 private:
  Shape target_;
};

// Transpose with a full permutation (batch axis included).
class TransposeOp final : public Op {
 public:
  TransposeOp(const OpNode& node, const KernelTable&) : Op(node), perm_(node.attr_ints("perm")) {
    node.require_inputs(1, 1);
    std::vector<bool> seen(perm_.size(), false);
    for (int64_t p : perm_) {
      if (p < 0 || p >= static_cast<int64_t>(perm_.size()) || seen[p])
        fail(ErrorKind::kInvalidModel, where() + ": bad permutation " + shape_str(perm_));
      seen[p] = true;
    }
  }
  std::vector<ValueType> infer(const std::vector<ValueType>& in) const override {
    if (in[0].shape.size() != perm_.size())
      shape_error("permutation " + shape_str(perm_) + " does not fit input " +
                  shape_str(in[0].shape));
    Shape o;
    for (int64_t p : perm_) o.push_back(in[0].shape[p]);
    return {{o, in[0].dtype}};
  }
  void run(const RunContext&, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const Shape& s = in[0].shape;
    const size_t rank = s.size();
    std::vector<int64_t> in_stride(rank, 1);
    for (size_t d = rank - 1; d-- > 0;) in_stride[d] = in_stride[d + 1] * s[d + 1];
    std::vector<int64_t> st(rank), os(rank), idx(rank, 0);
    for (size_t d = 0; d < rank; ++d) {
      st[d] = in_stride[perm_[d]];
      os[d] = s[perm_[d]];
    }
    const int64_t n = in[0].size();
    const uint32_t* x = static_cast<const uint32_t*>(in[0].data);
    uint32_t* y = static_cast<uint32_t*>(out[0].data);
    int64_t off = 0;
    for (int64_t j = 0; j < n; ++j) {
      y[j] = x[off];
      for (size_t d = rank; d-- > 0;) {
        off += st[d];
        if (++idx[d] < os[d]) break;
        off -= st[d] * os[d];
        idx[d] = 0;
      }
    }
  }

 private:
  Shape perm_;
};

// (N, F) -> (N, n, F)
class RepeatVectorOp final : public Op {
 public:
  RepeatVectorOp(const OpNode& node, const KernelTable&) : Op(node), n_(node.attr_int("n")) {
    node.require_inputs(1, 1);
    if (n_ < 1) fail(ErrorKind::kInvalidModel, where() + ": n must be positive");
  }
  std::vector<ValueType> infer(const std::vector<ValueType>& in) const override {
    if (in[0].shape.size() != 2)
      shape_error("expected a rank-2 input, received " + shape_str(in[0].shape));
    return {{{in[0].shape[0], n_, in[0].shape[1]}, in[0].dtype}};
  }
  void run(const RunContext&, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const int64_t rows = in[0].shape[0], f = in[0].shape[1];
    const float* x = in[0].f32();
    float* y = out[0].f32();
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t i = 0; i < n_; ++i) std::memcpy(y + (r * n_ + i) * f, x + r * f, f * 4);
  }

 private:
  int64_t n_;
};

class ConcatOp final : public Op {
 public:
  ConcatOp(const OpNode& node, const KernelTable&) : Op(node), axis_(node.attr_int("axis", -1)) {
    node.require_inputs(1, 256);
  }
  std::vector<ValueType> infer(const std::vector<ValueType>& in) const override {
    const Shape& s0 = in[0].shape;
    const int64_t axis = norm_axis(s0.size());
    Shape o = s0;
    o[axis] = 0;
    for (const auto& t : in) {
      bool ok = t.shape.size() == s0.size() && t.dtype == in[0].dtype;
      for (size_t d = 0; ok && d < s0.size(); ++d)
        ok = static_cast<int64_t>(d) == axis || dims_fit(t.shape[d], o[d]);
      if (!ok)
        shape_error("inputs " + shape_str(s0) + " and " + shape_str(t.shape) +
                    " cannot be concatenated on axis " + std::to_string(axis));
      o[axis] = dim_add(o[axis], t.shape[axis]);
      for (size_t d = 0; d < o.size(); ++d)  // a known dim wins over one not known yet
        if (static_cast<int64_t>(d) != axis && !known(o[d])) o[d] = t.shape[d];
    }
    return {{o, in[0].dtype}};
  }
  void run(const RunContext&, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const Shape& os = out[0].shape;
    const int64_t axis = norm_axis(os.size());
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= os[d];
    for (size_t d = axis + 1; d < os.size(); ++d) inner *= os[d];
    const int64_t out_row = os[axis] * inner;
    int64_t col = 0;
    for (const TensorView& t : in) {
      const int64_t len = t.shape[axis] * inner;
      const uint8_t* x = static_cast<const uint8_t*>(t.data);
      uint8_t* y = static_cast<uint8_t*>(out[0].data);
      for (int64_t o = 0; o < outer; ++o)
        std::memcpy(y + (o * out_row + col) * 4, x + o * len * 4, static_cast<size_t>(len) * 4);
      col += len;
    }
  }

 private:
  int64_t norm_axis(size_t rank) const {
    const int64_t r = static_cast<int64_t>(rank);
    if (axis_ < -r || axis_ >= r) shape_error("axis " + std::to_string(axis_) + " out of range");
    return axis_ < 0 ? axis_ + r : axis_;
  }
  int64_t axis_;
};

}  // namespace

void register_shape_ops(OpRegistry& r) {
  r["identity"] = [](const OpNode& n, const KernelTable& k) {
    return std::make_unique<IdentityOp>(n, k);
  };
  r["reshape"] = [](const OpNode& n, const KernelTable& k) {
    return std::make_unique<ReshapeOp>(n, k);
  };
  r["transpose"] = [](const OpNode& n, const KernelTable& k) {
    return std::make_unique<TransposeOp>(n, k);
  };
  r["repeat_vector"] = [](const OpNode& n, const KernelTable& k) {
    return std::make_unique<RepeatVectorOp>(n, k);
  };
  r["concat"] = [](const OpNode& n, const KernelTable& k) {
    return std::make_unique<ConcatOp>(n, k);
  };
}

}  // namespace tfjs_infer
