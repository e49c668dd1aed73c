// Where a compiled model runs. The CPU engine is CompiledModel itself; a
// device backend (CUDA, TFJS_INFER_CUDA=ON builds) compiles a DeviceRunner
// for a model: it takes over run() for the whole graph, running the ops it
// supports on the device and handing the others to the model's CPU ops with
// a copy each way.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/graph.h"
#include "core/tensor.h"
#include "ops/op.h"

namespace tfjs_infer {

struct DeviceOptions {
  std::string kind = "cpu";  // "cpu" or "cuda"
  int index = 0;             // which device of that kind
  bool allow_tf32 = false;   // let GEMMs use TF32 tensor cores (fewer mantissa bits)
  // Let cuBLAS serve the GEMMs where it is installed. Off by default: its
  // kernel choice depends on the batch size, so a row's last bits could.
  bool cublas = false;
};

// What a runner needs of the compiled model, borrowed for the model's life:
// the optimized graph (weights still present while the runner is built), the
// CPU ops (the fallback and the shape inference) and their kernels.
struct CompiledParts {
  const Graph* graph = nullptr;
  const std::vector<OpPtr>* cpu_ops = nullptr;
  const KernelTable* kernels = nullptr;
};

class DeviceRunner {
 public:
  virtual ~DeviceRunner() = default;
  // "cuda:0 (NVIDIA H100 ...)" or "cuda:0 (emulated)".
  virtual std::string device_name() const = 0;
  // Per graph op: "cuda" or "cpu" (a fallback op).
  virtual std::vector<std::string> placement() const = 0;
  // Which GEMM engine serves dense/conv on the device (cuBLAS or own kernels, and why).
  virtual std::string gemm_engine() const = 0;
  // Runs the graph for these input shapes; `types` are every value's types
  // for them (the CPU plan's). Thread-safe: each concurrent call gets its own
  // stream and workspace.
  virtual void run(const std::vector<Shape>& input_shapes, const std::vector<ValueType>& types,
                   const void* const* inputs, void* const* outputs, int num_threads) const = 0;
  // Device workspaces built so far for this model (memory plan reuse tests).
  virtual size_t workspaces_made() const = 0;
};

// A device backend, or nullptr when the build lacks it.
class DeviceBackend {
 public:
  virtual ~DeviceBackend() = default;
  virtual const char* name() const = 0;
  // True in an emulation build (kernels and runtime API run on the host).
  virtual bool emulated() const = 0;
  // Names of the visible devices (empty when none is usable).
  virtual std::vector<std::string> devices() const = 0;
  // Throws Error(kDevice) saying why device `index` cannot be used.
  virtual void check(int index) const = 0;
  virtual std::unique_ptr<DeviceRunner> compile(const CompiledParts& parts,
                                                const DeviceOptions& options) const = 0;
};

// nullptr when the build has no CUDA support.
const DeviceBackend* cuda_backend();

// Checks `options` names a usable device and compiles a runner for it;
// nullptr for "cpu". Throws Error(kDevice) saying why a device cannot be used.
std::unique_ptr<DeviceRunner> make_device_runner(const CompiledParts& parts,
                                                 const DeviceOptions& options);

// Tries to load cuBLAS under these names (dlopen): which one loaded, or why
// none did ("own kernels (cuBLAS not found: ...)").
std::string cublas_probe(const std::vector<std::string>& names);

// Why `kind:index` cannot be used, or "" when it can (no exception).
std::string device_unusable_reason(const std::string& kind, int index);

}  // namespace tfjs_infer
