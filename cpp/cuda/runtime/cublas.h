// cuBLAS loaded at run time (dlopen), so the CUDA build needs only the toolkit
// and runs without cuBLAS installed: our own GEMM kernels are the fallback.
// Only the few entry points we call are declared here, with cuBLAS's C ABI
// (enums as int, the handle as an opaque pointer); no cuBLAS header needed.
#pragma once

#include <string>
#include <vector>

#include "cuda/runtime/cuda_api.h"

namespace tfjs_infer {

struct CublasApi {
  using Handle = void*;
  int (*create)(Handle*) = nullptr;
  int (*destroy)(Handle) = nullptr;
  int (*set_stream)(Handle, cudaStream_t) = nullptr;
  int (*set_math_mode)(Handle, int) = nullptr;
  int (*sgemm)(Handle, int, int, int, int, int, const float*, const float*, int, const float*, int,
               const float*, float*, int) = nullptr;
  std::string library;  // the file name that loaded
};

// Tries each library name in turn (dlopen; a library the Python side already
// loaded from the nvidia-cublas wheel is found by its soname). Returns the API
// or nullptr; `status` says which library loaded or why none did.
const CublasApi* load_cublas(const std::vector<std::string>& names, std::string* status);

// The process-wide cuBLAS: TFJS_INFER_CUBLAS (a path, or "off") when set,
// else libcublas.so.13, then libcublas.so.12. Loaded once.
const CublasApi* process_cublas(std::string* status);

// A handle bound to one stream (one per concurrent call).
class CublasHandle {
 public:
  CublasHandle(const CublasApi& api, cudaStream_t stream, bool allow_tf32);
  CublasHandle(const CublasHandle&) = delete;
  CublasHandle& operator=(const CublasHandle&) = delete;
  ~CublasHandle();
  // Row-major C[m,n] = A[m,k] @ B[k,n] (+ beta * C), on the handle's stream.
  void gemm_row_major(int m, int n, int k, const float* a, const float* b, float* c,
                      float beta) const;

 private:
  const CublasApi& api_;
  CublasApi::Handle handle_ = nullptr;
};

}  // namespace tfjs_infer
