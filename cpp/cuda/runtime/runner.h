// CudaRunner: runs a compiled model on one CUDA device. Weights are uploaded
// once (by the CUDA ops, at construction); each input-shape set gets a
// DevicePlan and a pool of workspaces (stream, device memory, pinned staging,
// cuBLAS handle), one per concurrent call, reused across calls.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "cuda/ops/cuda_op.h"
#include "cuda/runtime/device_plan.h"

namespace tfjs_infer {

class CudaRunner final : public DeviceRunner {
 public:
  CudaRunner(const CompiledParts& parts, const DeviceOptions& options, std::string device_name);
  ~CudaRunner() override;

  std::string device_name() const override { return name_; }
  std::vector<std::string> placement() const override;
  std::string gemm_engine() const override { return gemm_engine_; }
  void run(const std::vector<Shape>& input_shapes, const std::vector<ValueType>& types,
           const void* const* inputs, void* const* outputs, int num_threads) const override;
  size_t workspaces_made() const override { return workspaces_made_.load(); }

 private:
  struct Workspace;
  struct PlanEntry;
  std::shared_ptr<PlanEntry> plan_for(const std::vector<Shape>& input_shapes,
                                      const std::vector<ValueType>& types) const;
  std::unique_ptr<Workspace> make_workspace(const DevicePlan& plan) const;
  void run_ops(const DevicePlan& plan, Workspace& ws, const void* const* inputs,
               int num_threads) const;
  void* value_ptr(const DevicePlan& plan, const Workspace& ws, int value, bool on_device,
                  const void* const* inputs) const;

  const Graph& graph_;
  const std::vector<OpPtr>& cpu_ops_;
  const KernelTable* kernels_;
  DeviceOptions options_;
  std::string name_;
  std::vector<CudaOpPtr> gpu_ops_;  // per op; nullptr: the op runs on the CPU
  const CublasApi* cublas_ = nullptr;
  std::string gemm_engine_;

  mutable std::mutex plans_mutex_;
  mutable std::map<std::vector<Shape>, std::shared_ptr<PlanEntry>> plans_;
  mutable std::atomic<size_t> workspaces_made_{0};
};

}  // namespace tfjs_infer
