// "reshape" on the GPU: the row-major data does not change, so one
// device-to-device copy into the output's slot of the memory plan.
#include "cuda/ops/cuda_op.h"

namespace tfjs_infer {

namespace {

class CudaCopy final : public CudaOp {
 public:
  void run(const CudaRunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const size_t bytes = static_cast<size_t>(in[0].size()) * dtype_size(in[0].dtype);
    if (bytes && in[0].data != out[0].data)
      check_cuda(
          cudaMemcpyAsync(out[0].data, in[0].data, bytes, cudaMemcpyDeviceToDevice, ctx.stream),
          "cudaMemcpyAsync (reshape)");
  }
};

}  // namespace

void register_cuda_shape_ops(CudaOpRegistry& r) {
  r["reshape"] = [](const OpNode&) -> CudaOpPtr { return std::make_unique<CudaCopy>(); };
}

}  // namespace tfjs_infer
