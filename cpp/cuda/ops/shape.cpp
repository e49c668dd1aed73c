// Data movement on the GPU, as the CPU's ops/shape_ops.cpp: "reshape" and
// "identity" (one device-to-device copy: the row-major data does not
// change), "transpose" (a gather kernel), "repeat_vector" (the repeat
// kernel) and "concat" (one strided 2D copy per input). Every value is 4
// bytes (float32 or int32), so the float kernels move int32 bits unchanged.
#include <string>
#include <utility>

#include "cuda/kernels/resize.h"
#include "cuda/kernels/transpose.h"
#include "cuda/ops/cuda_op.h"

namespace tfjs_infer {

namespace {

// The output holds the input's bytes as they are (reshape, identity, time
// fold): one device copy, none where the plan gave both the same memory.
class CudaCopy final : public CudaOp {
 public:
  explicit CudaCopy(std::string what) : what_("cudaMemcpyAsync (" + std::move(what) + ")") {}

  void run(const CudaRunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const size_t bytes = static_cast<size_t>(in[0].size()) * dtype_size(in[0].dtype);
    if (bytes && in[0].data != out[0].data)
      check_cuda(
          cudaMemcpyAsync(out[0].data, in[0].data, bytes, cudaMemcpyDeviceToDevice, ctx.stream),
          what_.c_str());
  }

 private:
  std::string what_;
};

// A full permutation, batch axis included: out axis d is input axis perm[d].
class CudaTranspose final : public CudaOp {
 public:
  explicit CudaTranspose(const OpNode& node)
      : where_(node.where()), perm_(node.attr_ints("perm")) {}

  void run(const CudaRunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const Shape& s = in[0].shape;
    const int rank = static_cast<int>(s.size());
    cuda::TransposeArgs t;
    t.rank = rank;
    int64_t stride = 1;
    int64_t in_stride[cuda::kMaxRank];
    for (int d = rank - 1; d >= 0; --d) {
      in_stride[d] = stride;
      stride *= s[d];
    }
    for (int d = 0; d < rank; ++d) {
      t.out_dims[d] = s[perm_[d]];
      t.x_strides[d] = in_stride[perm_[d]];
    }
    t.x = static_cast<const float*>(in[0].data);
    t.y = static_cast<float*>(out[0].data);
    check_launch(cuda::transpose_f32(t, ctx.stream), where_);
  }

 private:
  std::string where_;
  Shape perm_;
};

// (N, F) -> (N, n, F): the repeat kernel over (N, 1, F) with repeats (1, n, 1).
class CudaRepeatVector final : public CudaOp {
 public:
  explicit CudaRepeatVector(const OpNode& node) : where_(node.where()), n_(node.attr_int("n")) {}

  void run(const CudaRunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    cuda::RepeatArgs r;
    r.rank = 3;
    r.in_dims[0] = in[0].shape[0], r.in_dims[1] = 1, r.in_dims[2] = in[0].shape[1];
    r.repeat[0] = 1, r.repeat[1] = n_, r.repeat[2] = 1;
    r.x = static_cast<const float*>(in[0].data);
    r.y = static_cast<float*>(out[0].data);
    check_launch(cuda::repeat_f32(r, ctx.stream), where_);
  }

 private:
  std::string where_;
  int64_t n_;
};

// Each input's (outer, len) block lands at column `col` of the output's
// (outer, out_row) rows: one cudaMemcpy2DAsync per input.
class CudaConcat final : public CudaOp {
 public:
  explicit CudaConcat(const OpNode& node) : axis_(node.attr_int("axis", -1)) {}

  void run(const CudaRunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const Shape& os = out[0].shape;
    const int64_t rank = static_cast<int64_t>(os.size());
    const int64_t axis = axis_ < 0 ? axis_ + rank : axis_;  // checked by the CPU op's infer
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= os[d];
    for (int64_t d = axis + 1; d < rank; ++d) inner *= os[d];
    const size_t out_row = static_cast<size_t>(os[axis] * inner) * 4;
    size_t col = 0;
    for (const TensorView& t : in) {
      const size_t len = static_cast<size_t>(t.shape[axis] * inner) * 4;
      if (len && outer)
        check_cuda(
            cudaMemcpy2DAsync(static_cast<char*>(out[0].data) + col, out_row, t.data, len, len,
                              static_cast<size_t>(outer), cudaMemcpyDeviceToDevice, ctx.stream),
            "cudaMemcpy2DAsync (concat)");
      col += len;
    }
  }

 private:
  int64_t axis_;
};

}  // namespace

CudaOpPtr make_cuda_copy(const std::string& what) { return std::make_unique<CudaCopy>(what); }

void register_cuda_shape_ops(CudaOpRegistry& r) {
  r["reshape"] = [](const OpNode&) -> CudaOpPtr { return make_cuda_copy("reshape"); };
  r["identity"] = [](const OpNode&) -> CudaOpPtr { return make_cuda_copy("identity"); };
  r["transpose"] = [](const OpNode& n) -> CudaOpPtr {
    if (n.attr_ints("perm").size() > static_cast<size_t>(cuda::kMaxRank)) return nullptr;
    return std::make_unique<CudaTranspose>(n);
  };
  r["repeat_vector"] = [](const OpNode& n) -> CudaOpPtr {
    return std::make_unique<CudaRepeatVector>(n);
  };
  r["concat"] = [](const OpNode& n) -> CudaOpPtr { return std::make_unique<CudaConcat>(n); };
}

}  // namespace tfjs_infer
