// CompiledModel: graph -> passes (compile/passes.h) -> ops with prepacked weights; per input
// shapes, a memory plan reused across calls. Immutable after construction;
// run() may be called from many threads at once.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "compile/device.h"
#include "core/graph.h"
#include "ops/op.h"

namespace tfjs_infer {

struct CompileOptions {
  std::string isa;       // "" = best for this CPU
  int num_threads = 0;   // 0 = all cores
  bool optimize = true;  // run the graph passes
  // "fp32" | "bf16" | "int8": what dense and convolution GEMMs run in where
  // the ISA has the kernel (ops/lowp_weights.h); the rest stays float32.
  std::string precision = "fp32";
  DeviceOptions device;  // "cpu" unless a device backend should run the model
};

// One input of a hot-path run: a dense row-major array owned by the caller,
// read in place (never copied).
struct InputRef {
  const void* data = nullptr;
  const int64_t* dims = nullptr;
  int rank = 0;
  DType dtype = DType::kFloat32;
};

struct OpSummary {
  std::string name, type;
  std::vector<int> inputs, outputs;
};

class CompiledModel {
 public:
  // Everything that depends on the concrete input shapes (types, arena
  // layout), built once per shape set and reused.
  struct Plan;
  using PlanPtr = std::shared_ptr<const Plan>;

  CompiledModel(Graph graph, const CompileOptions& options);
  ~CompiledModel();

  // Types of the model outputs for these input shapes (validates them).
  std::vector<ValueType> output_types(const std::vector<Shape>& input_shapes) const;
  // Types of every graph value for these input shapes (for summaries).
  std::vector<ValueType> value_types(const std::vector<Shape>& input_shapes) const;

  // Runs the graph. `outputs` must point to buffers of output_types() shapes.
  void run(const std::vector<TensorView>& inputs, const std::vector<TensorView>& outputs) const;

  // The hot path, split so the caller can allocate the outputs in between:
  // plan_for() validates shapes and dtypes and finds the plan (no allocation
  // once these shapes were seen); run() then writes each output j, of type
  // output_type(plan, j), to outputs[j]. Neither copies the inputs.
  PlanPtr plan_for(const InputRef* inputs, size_t n) const;
  const ValueType& output_type(const Plan& plan, size_t j) const;
  size_t num_outputs() const { return graph_.outputs.size(); }
  // op_ns, when given, receives each op's wall time in ns (ops() order):
  // Model.profile's per-layer figures.
  void run(const Plan& plan, const InputRef* inputs, void* const* outputs,
           int64_t* op_ns = nullptr) const;

  // Bytes of one call's workspace (activations and scratch) for these input
  // shapes, planned without caching the plan: what predict's automatic batch
  // size weighs against its memory budget.
  size_t workspace_bytes(const std::vector<Shape>& input_shapes) const;
  // Arena offset of each graph value in the plan for these input shapes, -1
  // for values outside the arena (tests check the plan's placement).
  std::vector<int64_t> arena_offsets(const std::vector<Shape>& input_shapes) const;

  int num_threads() const { return num_threads_.load(std::memory_order_relaxed); }
  void set_num_threads(int n);
  const char* isa() const;
  const Graph& graph() const { return graph_; }
  std::vector<OpSummary> ops() const;
  // Per op (ops() order): "fp32", "bf16" or "int8", what its GEMM runs in.
  std::vector<std::string> op_precisions() const;
  // The precision asked for when this ISA runs it, else "fp32".
  const char* precision() const;
  size_t num_plans() const;
  // The device runner (nullptr when the model runs on the CPU engine).
  const DeviceRunner* device() const { return device_.get(); }

 private:
  struct Workspace;
  std::shared_ptr<Plan> plan_for(const std::vector<Shape>& input_shapes) const;
  std::shared_ptr<Plan> make_plan(const std::vector<Shape>& input_shapes) const;
  void check_inputs(const std::vector<Shape>& shapes) const;
  void check_dtypes(const InputRef* inputs, size_t n) const;
  std::unique_ptr<Workspace> make_workspace(const Plan& plan) const;
  // int8 and bf16 models: the rows per slice a call of this plan runs in on
  // `threads` threads (0: the whole call at once), and the sliced runs: one
  // slice after another, each split over the threads (run_slices), or whole
  // slices in parallel, each on one thread (run_slices_parallel).
  struct SliceCall;
  int64_t slice_rows(const Plan& plan, const InputRef* inputs, int threads) const;
  bool slices_in_parallel(int64_t batch, int threads, const int64_t* op_ns) const;
  void run_rows(const SliceCall& call, int64_t r0, int64_t rows, int threads, int64_t* op_ns) const;
  void run_slices(const SliceCall& call, int64_t begin, int64_t end, int64_t rows, int threads,
                  int64_t* op_ns) const;
  void run_slices_parallel(const SliceCall& call, int64_t rows, int threads) const;
  // run() of one call, or of one slice, through the plan's arena, its ops
  // split over `threads`.
  void run_whole(const Plan& plan, const InputRef* inputs, void* const* outputs, int64_t* op_ns,
                 int threads) const;

  Graph graph_;  // after passes; weights moved into the ops
  const KernelTable* kernels_;
  int precision_ = 0;       // Precision (ops/lowp_weights.h) the model runs in
  size_t slice_bytes_ = 0;  // bf16/int8: a call's arena per slice of rows (0: no slicing)
  // TFJS_INFER_PLAN_RECENT=1 (read at load): make_plan puts each output where
  // the arena's lines were touched most recently, not at the lowest offset
  // (measured no faster on Zen 4: compile/arena_fit.cpp recent_fit).
  bool plan_recent_ = false;
  // TFJS_INFER_PARALLEL_SLICES=0 (read at load): sliced calls on several
  // threads run one slice after another, each op split over the threads
  // (the way before slices ran in parallel; compile/model.cpp).
  bool parallel_slices_ = true;
  // TFJS_INFER_FP32_PARTS=1 (read at load; an experiment, off): fp32 calls
  // on several threads run as one part of batch / threads samples per thread,
  // in parallel. AMD EPYC family 25 model 17, 2 threads, batch 32,
  // bench/thread_scaling.py --trace (critical path, load ~3): ResNet50 0.98x,
  // MobileNetV2 0.87x, MNIST CNN 0.96x, MLP 0.94x, but the text CNN 1.12x
  // and the LSTM 1.31x: no rule yet that picks the models it helps.
  bool fp32_parts_ = false;
  // Atomic: Python may set it while other threads are inside run().
  std::atomic<int> num_threads_{1};
  mutable std::atomic<int64_t> last_call_ns_{0};  // start of the latest run()
  std::vector<OpPtr> ops_;
  std::vector<int> last_use_;             // per value: index of the last op reading it
  std::unique_ptr<DeviceRunner> device_;  // after ops_: it borrows them

  mutable std::mutex plans_mutex_;
  mutable std::map<std::vector<Shape>, std::shared_ptr<Plan>> plans_;
  // The most recently used plans, newest first: the hot path compares the
  // call's dims with these without building a key.
  mutable std::vector<std::shared_ptr<Plan>> recent_;
};

// Workspaces (per-call arenas and views) built so far by all models: the
// hot path builds none once a shape set has been seen (tests).
size_t workspaces_made();

}  // namespace tfjs_infer
