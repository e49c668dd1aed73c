// CompiledModel: graph -> passes -> ops with prepacked weights; per input
// shapes, a memory plan reused across calls. Immutable after construction;
// run() may be called from many threads at once.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/graph.h"
#include "ops/op.h"

namespace tfjs_infer {

struct CompileOptions {
  std::string isa;       // "" = best for this CPU
  int num_threads = 0;   // 0 = all cores
  bool optimize = true;  // run the graph passes
};

struct OpSummary {
  std::string name, type;
  std::vector<int> inputs, outputs;
};

class CompiledModel {
 public:
  CompiledModel(Graph graph, const CompileOptions& options);
  ~CompiledModel();

  // Types of the model outputs for these input shapes (validates them).
  std::vector<ValueType> output_types(const std::vector<Shape>& input_shapes) const;
  // Types of every graph value for these input shapes (for summaries).
  std::vector<ValueType> value_types(const std::vector<Shape>& input_shapes) const;

  // Runs the graph. `outputs` must point to buffers of output_types() shapes.
  void run(const std::vector<TensorView>& inputs, const std::vector<TensorView>& outputs) const;

  int num_threads() const { return num_threads_.load(std::memory_order_relaxed); }
  void set_num_threads(int n);
  const char* isa() const;
  const Graph& graph() const { return graph_; }
  std::vector<OpSummary> ops() const;
  size_t num_plans() const;

 private:
  struct Plan;
  struct Workspace;
  std::shared_ptr<Plan> plan_for(const std::vector<Shape>& input_shapes) const;
  std::shared_ptr<Plan> make_plan(const std::vector<Shape>& input_shapes) const;
  void check_inputs(const std::vector<Shape>& shapes) const;

  Graph graph_;  // after passes; weights moved into the ops
  const KernelTable* kernels_;
  // Atomic: Python may set it while other threads are inside run().
  std::atomic<int> num_threads_{1};
  std::vector<OpPtr> ops_;
  std::vector<int> last_use_;  // per value: index of the last op reading it

  mutable std::mutex plans_mutex_;
  mutable std::map<std::vector<Shape>, std::shared_ptr<Plan>> plans_;
};

// Graph passes (passes.cpp).
void remove_identities(Graph& g);
void fold_batch_norm(Graph& g);
void fuse_residual_adds(Graph& g);
void fuse_activations(Graph& g);

}  // namespace tfjs_infer
