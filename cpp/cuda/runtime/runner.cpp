#include "cuda/runtime/runner.h"

#include <cstring>

namespace tfjs_infer {

namespace {
constexpr size_t kMaxPlans = 64;  // distinct input-shape sets kept; then the cache restarts
}  // namespace

struct CudaRunner::Workspace {
  CudaStream stream;
  CudaBuffer device, staged_in, staged_out, host;
  std::unique_ptr<CublasHandle> cublas;
  std::vector<std::vector<TensorView>> in_views, out_views;  // per op
};

struct CudaRunner::PlanEntry {
  DevicePlan plan;
  std::mutex pool_mutex;
  std::vector<std::unique_ptr<Workspace>> pool;  // workspaces not in use
};

CudaRunner::CudaRunner(const CompiledParts& parts, const DeviceOptions& options,
                       std::string device_name)
    : graph_(*parts.graph),
      cpu_ops_(*parts.cpu_ops),
      kernels_(parts.kernels),
      options_(options),
      name_(std::move(device_name)) {
  check_cuda(cudaSetDevice(options_.index), "cudaSetDevice");
  gpu_ops_.reserve(graph_.nodes.size());
  for (const OpNode& node : graph_.nodes) gpu_ops_.push_back(make_cuda_op(node));
#if defined(TFJS_INFER_CUDA_EMULATED)
  gemm_engine_ = "own kernels (emulation build: cuBLAS needs a real device)";
#else
  if (options_.cublas) {
    cublas_ = process_cublas(&gemm_engine_);
  } else {
    gemm_engine_ = "own kernels (cublas=False)";
  }
#endif
  // Weight uploads are synchronous copies; nothing else is pending.
  check_cuda(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
}

CudaRunner::~CudaRunner() = default;

std::vector<std::string> CudaRunner::placement() const {
  std::vector<std::string> out;
  for (const CudaOpPtr& op : gpu_ops_) out.push_back(op ? "cuda" : "cpu");
  return out;
}

std::shared_ptr<CudaRunner::PlanEntry> CudaRunner::plan_for(
    const std::vector<Shape>& input_shapes, const std::vector<ValueType>& types) const {
  std::lock_guard<std::mutex> lock(plans_mutex_);
  auto it = plans_.find(input_shapes);
  if (it != plans_.end()) return it->second;
  std::vector<bool> on_device(graph_.nodes.size());
  std::vector<size_t> scratch(graph_.nodes.size());
  for (size_t i = 0; i < graph_.nodes.size(); ++i) {
    std::vector<ValueType> in;
    for (int v : graph_.nodes[i].inputs) in.push_back(types[v]);
    on_device[i] = gpu_ops_[i] != nullptr;
    scratch[i] = on_device[i] ? gpu_ops_[i]->scratch_bytes(in) : cpu_ops_[i]->scratch_bytes(in);
  }
  auto entry = std::make_shared<PlanEntry>();
  entry->plan = make_device_plan(graph_, input_shapes, types, on_device, scratch);
  if (plans_.size() >= kMaxPlans) plans_.clear();
  plans_.emplace(input_shapes, entry);
  return entry;
}

std::unique_ptr<CudaRunner::Workspace> CudaRunner::make_workspace(const DevicePlan& plan) const {
  workspaces_made_.fetch_add(1);
  auto ws = std::make_unique<Workspace>();
  ws->device = CudaBuffer(CudaBuffer::Kind::kDevice, plan.dev_bytes);
  ws->staged_in = CudaBuffer(CudaBuffer::Kind::kPinned, plan.in_bytes);
  ws->staged_out = CudaBuffer(CudaBuffer::Kind::kPinned, plan.out_bytes);
  ws->host = CudaBuffer(CudaBuffer::Kind::kPinned, plan.host_bytes);
  if (cublas_)
    ws->cublas = std::make_unique<CublasHandle>(*cublas_, ws->stream.get(), options_.allow_tf32);
  ws->in_views.resize(graph_.nodes.size());
  ws->out_views.resize(graph_.nodes.size());
  for (size_t i = 0; i < graph_.nodes.size(); ++i) {
    for (int v : graph_.nodes[i].inputs)
      ws->in_views[i].push_back({nullptr, plan.types[v].shape, plan.types[v].dtype});
    for (int v : graph_.nodes[i].outputs)
      ws->out_views[i].push_back({nullptr, plan.types[v].shape, plan.types[v].dtype});
  }
  return ws;
}

void* CudaRunner::value_ptr(const DevicePlan& plan, const Workspace& ws, int value, bool on_device,
                            const void* const* inputs) const {
  if (on_device) return ws.device.data() + plan.dev_offset[value];
  if (plan.host_offset[value] != kNoSlot) return ws.host.data() + plan.host_offset[value];
  // A model input read on the host: the caller's array, in place.
  for (size_t i = 0; i < graph_.inputs.size(); ++i)
    if (graph_.inputs[i] == value) return const_cast<void*>(inputs[i]);
  fail(ErrorKind::kInvalidModel,
       "device plan: value " + std::to_string(value) + " has no host slot");
}

void CudaRunner::run_ops(const DevicePlan& plan, Workspace& ws, const void* const* inputs,
                         int num_threads) const {
  const cudaStream_t stream = ws.stream.get();
  CudaRunContext gpu_ctx;
  gpu_ctx.stream = stream;
  gpu_ctx.scratch = ws.device.data() ? ws.device.data() + plan.dev_scratch_offset : nullptr;
  gpu_ctx.cublas = ws.cublas.get();
  gpu_ctx.allow_tf32 = options_.allow_tf32;
  RunContext cpu_ctx;
  cpu_ctx.kernels = kernels_;
  cpu_ctx.num_threads = num_threads;
  cpu_ctx.scratch = ws.host.data() ? ws.host.data() + plan.host_scratch_offset : nullptr;

  bool device_busy = true;  // the inputs' copy is in flight
  for (size_t i = 0; i < graph_.nodes.size(); ++i) {
    const OpNode& node = graph_.nodes[i];
    const bool on_device = plan.steps[i].on_device;
    for (size_t j = 0; j < node.inputs.size(); ++j)
      ws.in_views[i][j].data = value_ptr(plan, ws, node.inputs[j], on_device, inputs);
    for (size_t j = 0; j < node.outputs.size(); ++j)
      ws.out_views[i][j].data = value_ptr(plan, ws, node.outputs[j], on_device, inputs);
    if (on_device) {
      gpu_ops_[i]->run(gpu_ctx, ws.in_views[i], ws.out_views[i]);
      device_busy = true;
    } else {
      // The CPU op reads what the device wrote: wait for the stream.
      if (device_busy) ws.stream.sync();
      device_busy = false;
      cpu_ops_[i]->run(cpu_ctx, ws.in_views[i], ws.out_views[i]);
    }
    for (const DeviceCopy& copy : plan.steps[i].copies_after) {
      char* dev = ws.device.data() + plan.dev_offset[copy.value];
      char* host = ws.host.data() + plan.host_offset[copy.value];
      const size_t bytes = static_cast<size_t>(num_elements(plan.types[copy.value].shape)) *
                           dtype_size(plan.types[copy.value].dtype);
      if (copy.to_device)
        check_cuda(cudaMemcpyAsync(dev, host, bytes, cudaMemcpyHostToDevice, stream),
                   "cudaMemcpyAsync (to the device, after a CPU op)");
      else
        check_cuda(cudaMemcpyAsync(host, dev, bytes, cudaMemcpyDeviceToHost, stream),
                   "cudaMemcpyAsync (to the host, for a CPU op)");
      device_busy = true;
    }
  }
}

void CudaRunner::run(const std::vector<Shape>& input_shapes, const std::vector<ValueType>& types,
                     const void* const* inputs, void* const* outputs, int num_threads) const {
  check_cuda(cudaSetDevice(options_.index), "cudaSetDevice");  // per thread
  std::shared_ptr<PlanEntry> entry = plan_for(input_shapes, types);
  const DevicePlan& plan = entry->plan;
  std::unique_ptr<Workspace> ws;
  {
    std::lock_guard<std::mutex> lock(entry->pool_mutex);
    if (!entry->pool.empty()) {
      ws = std::move(entry->pool.back());
      entry->pool.pop_back();
    }
  }
  if (!ws) ws = make_workspace(plan);
  const cudaStream_t stream = ws->stream.get();

  // One host->device copy of all inputs, through the pinned staging block.
  for (size_t i = 0; i < graph_.inputs.size(); ++i) {
    const ValueType& t = plan.types[graph_.inputs[i]];
    std::memcpy(ws->staged_in.data() + plan.input_offset[i], inputs[i],
                static_cast<size_t>(num_elements(t.shape)) * dtype_size(t.dtype));
  }
  if (plan.in_bytes)
    check_cuda(cudaMemcpyAsync(ws->device.data(), ws->staged_in.data(), plan.in_bytes,
                               cudaMemcpyHostToDevice, stream),
               "cudaMemcpyAsync (inputs)");
  run_ops(plan, *ws, inputs, num_threads);
  // One device->host copy of the outputs computed on the device.
  if (plan.out_bytes)
    check_cuda(cudaMemcpyAsync(ws->staged_out.data(), ws->device.data() + plan.out_begin,
                               plan.out_bytes, cudaMemcpyDeviceToHost, stream),
               "cudaMemcpyAsync (outputs)");
  ws->stream.sync();
  for (size_t j = 0; j < plan.outputs.size(); ++j) {
    const OutputSource& src = plan.outputs[j];
    const void* from = src.kind == OutputSource::kStagedOut ? ws->staged_out.data() + src.offset
                       : src.kind == OutputSource::kHostArena
                           ? static_cast<const void*>(ws->host.data() + src.offset)
                           : inputs[src.input];
    if (src.bytes) std::memcpy(outputs[j], from, src.bytes);
  }
  // A failed call throws before here and drops its workspace: its stream
  // may still hold work.
  std::lock_guard<std::mutex> lock(entry->pool_mutex);
  entry->pool.push_back(std::move(ws));
}

}  // namespace tfjs_infer
