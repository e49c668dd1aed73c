// The GPU side of an op: built once at load from the graph node (weights
// uploaded then), run on a call's stream with device pointers in the views.
// One family per file (cpp/cuda/ops/<family>.cpp), each calling the kernel
// launchers of cpp/cuda/kernels/. An op type (or attribute combination) with
// no CUDA op runs on the CPU engine with a copy each way (runtime/runner.cpp).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/graph.h"
#include "core/tensor.h"
#include "cuda/runtime/cublas.h"
#include "cuda/runtime/cuda_api.h"
#include "cuda/runtime/memory.h"

namespace tfjs_infer {

struct CudaRunContext {
  cudaStream_t stream = nullptr;
  void* scratch = nullptr;  // scratch_bytes() bytes of device memory, 256-byte aligned
  // cuBLAS on this call's stream, or nullptr: the GEMMs use our kernels.
  const CublasHandle* cublas = nullptr;
  bool allow_tf32 = false;
};

class CudaOp {
 public:
  virtual ~CudaOp() = default;
  virtual size_t scratch_bytes(const std::vector<ValueType>& /*in*/) const { return 0; }
  // Enqueues the op on ctx.stream; views hold device pointers.
  virtual void run(const CudaRunContext& ctx, const std::vector<TensorView>& in,
                   const std::vector<TensorView>& out) const = 0;
};

using CudaOpPtr = std::unique_ptr<CudaOp>;
// Builds the CUDA op for a node whose CPU op compiled, or returns nullptr when
// this combination of attributes has no CUDA op (the node then runs on the CPU).
using CudaOpFactory = std::function<CudaOpPtr(const OpNode& node)>;
using CudaOpRegistry = std::map<std::string, CudaOpFactory>;

const CudaOpRegistry& cuda_op_registry();
CudaOpPtr make_cuda_op(const OpNode& node);

// Device copy of a float weight (pending folded-BatchNorm scale applied).
CudaBuffer upload_weight(const WeightTensor& w);

}  // namespace tfjs_infer
