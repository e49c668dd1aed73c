#include "backends/backend.h"
#include "core/threading.h"
#include "kernels/kernels.h"
#include "ops/registry.h"

namespace tfjs_infer {

namespace {
class CpuBackend final : public Backend {
 public:
  const char* name() const override { return "cpu"; }
  bool available() const override { return true; }
  bool supports(const std::string& op_type) const override {
    return op_registry().count(op_type) != 0;
  }
  std::vector<std::string> devices() const override {
    return {std::string("cpu (") + isa_name(best_kernels().isa) + ", " +
            std::to_string(default_num_threads()) + " threads)"};
  }
};
}  // namespace

const Backend& cpu_backend() {
  static const CpuBackend backend;
  return backend;
}

#ifndef TFJS_INFER_HAVE_CUDA
const Backend* cuda_backend() { return nullptr; }
#endif

}  // namespace tfjs_infer
