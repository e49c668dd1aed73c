#include "backends/backend.h"

namespace tfjs_infer {

namespace {
const char kCpuOnlyBuild[] =
    "this tfjs_infer is a CPU-only build (compiled without TFJS_INFER_CUDA): install the "
    "CUDA build with pip install tfjs-infer -C cmake.define.TFJS_INFER_CUDA=ON "
    "(README 'GPU (CUDA)')";

std::string unavailable(int index) {
  return "device 'cuda:" + std::to_string(index) + "' unavailable: ";
}
}  // namespace

#ifndef TFJS_INFER_HAVE_CUDA
const DeviceBackend* cuda_backend() { return nullptr; }
std::string cublas_probe(const std::vector<std::string>& /*names*/) {
  return "own kernels (a CPU-only build loads no cuBLAS)";
}
#endif

std::unique_ptr<DeviceRunner> make_device_runner(const CompiledParts& parts,
                                                 const DeviceOptions& options) {
  if (options.kind == "cpu") return nullptr;
  if (options.kind != "cuda")
    fail(ErrorKind::kDevice, "unknown device '" + options.kind + "': expected cpu or cuda");
  const DeviceBackend* backend = cuda_backend();
  if (!backend) fail(ErrorKind::kDevice, unavailable(options.index) + kCpuOnlyBuild);
  backend->check(options.index);
  return backend->compile(parts, options);
}

std::string device_unusable_reason(const std::string& kind, int index) {
  try {
    if (kind == "cpu") return "";
    if (kind != "cuda") return "unknown device '" + kind + "': expected cpu or cuda";
    const DeviceBackend* backend = cuda_backend();
    if (!backend) return unavailable(index) + kCpuOnlyBuild;
    backend->check(index);
    return "";
  } catch (const Error& e) {
    return e.what();
  }
}

}  // namespace tfjs_infer
