// The GPU side of an op: built once at load from the graph node (weights
// uploaded then), run on a call's stream with device pointers in the views.
// One family per file (cpp/cuda/ops/<family>.cpp), each calling the kernel
// launchers of cpp/cuda/kernels/. An op type (or attribute combination) with
// no CUDA op runs on the CPU engine with a copy each way (runtime/runner.cpp).
#pragma once

#include <cstdint>
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
// An op whose output holds its input's bytes unchanged (reshape, identity,
// time fold/unfold); `what` names it in a copy's error.
CudaOpPtr make_cuda_copy(const std::string& what);
CudaOpPtr make_cuda_op(const OpNode& node);

// Device copy of a float weight (pending folded-BatchNorm scale applied).
CudaBuffer upload_weight(const WeightTensor& w);
// Device copy of host floats (values derived at load, e.g. a BatchNorm's scale).
CudaBuffer upload_floats(const std::vector<float>& values);
// The node's optional float weight `key` on the device (empty when absent).
CudaBuffer upload_optional(const OpNode& node, const std::string& key);

// Ids checked on the device (embedding, category_encoding): a kernel lowers
// the device int64 *pos, set to kNoBadId by arm_bad_id, to the first bad flat
// position. first_bad_id syncs the stream and reads it; id_text_at gives the
// id there as the CPU ops print it ("nan" or the integer, floats truncated).
constexpr int64_t kNoBadId = INT64_MAX;
void arm_bad_id(int64_t* pos, cudaStream_t stream);
int64_t first_bad_id(const int64_t* pos, cudaStream_t stream);
std::string id_text_at(const TensorView& ids, int64_t pos, cudaStream_t stream);

// Throws Error(kDevice) naming the op when a kernel launch failed.
void check_launch(cudaError_t err, const std::string& where);

inline const float* dev_f32(const CudaBuffer& b) {
  return b.bytes() ? reinterpret_cast<const float*>(b.data()) : nullptr;
}

// One per op family (cpp/cuda/ops/<family>.cpp), called from registry.cpp.
void register_cuda_dense_ops(CudaOpRegistry& r);
void register_cuda_activation_ops(CudaOpRegistry& r);
void register_cuda_conv_ops(CudaOpRegistry& r);
void register_cuda_pooling_ops(CudaOpRegistry& r);
void register_cuda_elementwise_ops(CudaOpRegistry& r);
void register_cuda_shape_ops(CudaOpRegistry& r);
void register_cuda_normalization_ops(CudaOpRegistry& r);
void register_cuda_recurrent_ops(CudaOpRegistry& r);
void register_cuda_pad_ops(CudaOpRegistry& r);
void register_cuda_embedding_ops(CudaOpRegistry& r);
void register_cuda_attention_ops(CudaOpRegistry& r);
void register_cuda_conv_transpose_ops(CudaOpRegistry& r);
void register_cuda_conv_lstm_ops(CudaOpRegistry& r);
void register_cuda_keras_norm_ops(CudaOpRegistry& r);
void register_cuda_sequence_ops(CudaOpRegistry& r);
void register_cuda_resize_ops(CudaOpRegistry& r);
void register_cuda_category_encoding_ops(CudaOpRegistry& r);

}  // namespace tfjs_infer
