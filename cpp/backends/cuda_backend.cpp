// The CUDA backend seam (TFJS_INFER_CUDA=ON builds only). It reports the
// visible devices; no op runs on the GPU yet, so supports() is false for all
// op types and models compile for the CPU.
#include <cuda_runtime_api.h>

#include <string>

#include "backends/backend.h"

namespace tfjs_infer {

namespace {
class CudaBackend final : public Backend {
 public:
  const char* name() const override { return "cuda"; }
  bool available() const override { return !devices().empty(); }
  bool supports(const std::string& /*op_type*/) const override { return false; }
  std::vector<std::string> devices() const override {
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess) return {};
    std::vector<std::string> out;
    for (int i = 0; i < count; ++i) {
      cudaDeviceProp prop;
      if (cudaGetDeviceProperties(&prop, i) == cudaSuccess) out.push_back(prop.name);
    }
    return out;
  }
};
}  // namespace

const Backend* cuda_backend() {
  static const CudaBackend backend;
  return &backend;
}

}  // namespace tfjs_infer
