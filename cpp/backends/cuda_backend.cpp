// The CUDA backend (TFJS_INFER_CUDA=ON builds, or TFJS_INFER_CUDA_EMU=ON where
// the runtime API and kernels run on the host): says whether a device is
// usable and why not, and compiles a CudaRunner for a model.
#include <memory>
#include <string>

#include "backends/backend.h"
#include "cuda/runtime/cublas.h"
#include "cuda/runtime/cuda_api.h"
#include "cuda/runtime/runner.h"

namespace tfjs_infer {

namespace {
std::string runtime_version() {
#if defined(TFJS_INFER_CUDA_EMULATED)
  return "(emulated)";
#else
  int v = 0;
  if (cudaRuntimeGetVersion(&v) != cudaSuccess) return "?";
  return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10);
#endif
}

std::string device_label(int index) {
  cudaDeviceProp prop;
  std::string name = cudaGetDeviceProperties(&prop, index) == cudaSuccess ? prop.name : "?";
#if defined(TFJS_INFER_CUDA_EMULATED)
  name += ", emulated on the host";
#endif
  return "cuda:" + std::to_string(index) + " (" + name + ")";
}

class CudaBackend final : public DeviceBackend {
 public:
  const char* name() const override { return "cuda"; }
#if defined(TFJS_INFER_CUDA_EMULATED)
  bool emulated() const override { return true; }
#else
  bool emulated() const override { return false; }
#endif

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

  void check(int index) const override {
    const std::string what = "device 'cuda:" + std::to_string(index) + "' unavailable: ";
    int count = 0;
    const cudaError_t err = cudaGetDeviceCount(&count);
    if (err == cudaErrorInsufficientDriver)
      fail(ErrorKind::kDevice,
           what + "no usable NVIDIA driver (cudaGetDeviceCount: " + cuda_error_text(err) +
               "); the driver is missing or older than this build's CUDA runtime " +
               runtime_version());
    if (err == cudaErrorNoDevice || (err == cudaSuccess && count == 0))
      fail(ErrorKind::kDevice, what +
                                   "no CUDA device is visible (driver present; check "
                                   "CUDA_VISIBLE_DEVICES and nvidia-smi)");
    if (err != cudaSuccess)
      fail(ErrorKind::kDevice, what + "cudaGetDeviceCount: " + cuda_error_text(err));
    if (index < 0 || index >= count)
      fail(ErrorKind::kDevice, what + "device index " + std::to_string(index) +
                                   " out of range: this machine has " + std::to_string(count) +
                                   " CUDA device(s), cuda:0 to cuda:" + std::to_string(count - 1));
  }

  std::unique_ptr<DeviceRunner> compile(const CompiledParts& parts,
                                        const DeviceOptions& options) const override {
    return std::make_unique<CudaRunner>(parts, options, device_label(options.index));
  }
};
}  // namespace

std::string cublas_probe(const std::vector<std::string>& names) {
  std::string status;
  load_cublas(names, &status);
  return status;
}

const DeviceBackend* cuda_backend() {
  static const CudaBackend backend;
  return &backend;
}

}  // namespace tfjs_infer
