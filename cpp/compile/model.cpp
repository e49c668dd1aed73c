#include "compile/model.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "compile/arena_fit.h"
#include "compile/passes.h"
#include "core/env_switch.h"
#include "core/threading.h"
#include "kernels/cpu_params.h"
#include "ops/precision.h"
#include "ops/registry.h"

namespace tfjs_infer {

namespace {
constexpr size_t kAlign = 64;
constexpr size_t kMaxPlans = 64;  // distinct input-shape sets kept; then the cache restarts
constexpr size_t kNotPlanned = static_cast<size_t>(-1);
constexpr size_t kRecentPlans = 4;  // compared on the hot path before the map
// Calls further apart than this are "after idle"; shorter than kShortCallNs
// they do not wake sleeping pool workers (see run()).
constexpr int64_t kBurstGapNs = 1000000;
constexpr int64_t kShortCallNs = 100000;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

size_t align_up(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

// bf16 and int8 models run a call of many samples through the graph a slice
// of samples at a time, each slice's arena at most cpu_params()'s
// lowp_slice_bytes, int8 models int8_slice_bytes (at least one sample; half
// the L3, at most 24 MiB, a quarter for int8 on Zen 4: the
// measurements are in kernels/cpu_params.cpp). At batch 32 ResNet50's
// activations (270 MiB of arena) would stream from memory between ops, and
// these products, whose arithmetic is a half or a quarter of fp32's, wait on
// that traffic. bench/precision.py's int8-whole/bf16-whole measure it. Every
// row is computed alike in any batch, so the bits do not change. fp32 keeps
// whole calls: its products reuse each weight panel over the whole batch, and
// it measured faster at 32 images per call than in slices (_batching.py).
// TFJS_INFER_LOWP_SLICE_BYTES (read at load; 0: whole calls) overrides it.
size_t lowp_slice_bytes(Precision p) {
  const CpuParams& cpu = cpu_params();
  const size_t derived =
      static_cast<size_t>(p == Precision::kInt8 ? cpu.int8_slice_bytes : cpu.lowp_slice_bytes);
  const char* env = std::getenv("TFJS_INFER_LOWP_SLICE_BYTES");
  if (!env || !*env) return derived;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(env, &end, 10);
  return end && *end == '\0' ? static_cast<size_t>(v) : derived;
}

}  // namespace

// Everything that depends on the concrete input shapes, computed once per
// shape set: every value's type, its arena offset, and the arena size.
struct CompiledModel::Plan {
  std::vector<Shape> input_shapes;
  std::vector<ValueType> types;
  std::vector<size_t> offsets;      // arena offset per value, kNotPlanned for external
  std::vector<bool> output_copied;  // per model output: computed in the arena, then copied
  size_t arena_bytes = 0;
  size_t scratch_offset = 0;

  // Workspaces not in use; one per concurrent call at most.
  // Typical duration of a call, nanoseconds (an average; racy updates are fine).
  mutable std::atomic<int64_t> avg_run_ns{0};
  mutable std::mutex pool_mutex;
  mutable std::vector<std::unique_ptr<Workspace>> pool;
};

namespace {
bool same_shapes(const std::vector<Shape>& shapes, const InputRef* in, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const Shape& s = shapes[i];
    if (s.size() != static_cast<size_t>(in[i].rank)) return false;
    for (size_t d = 0; d < s.size(); ++d)
      if (s[d] != in[i].dims[d]) return false;
  }
  return true;
}
}  // namespace

// Per-call memory: the arena and prebuilt views (no allocation per call once
// a workspace exists for the plan).
struct CompiledModel::Workspace {
  Buffer<uint8_t> arena;
  std::vector<void*> ptrs;                                   // per value
  std::vector<std::vector<TensorView>> in_views, out_views;  // per op
};

CompiledModel::CompiledModel(Graph graph, const CompileOptions& options)
    : graph_(std::move(graph)), kernels_(&kernels_by_name(options.isa)) {
  plan_recent_ = env_is("TFJS_INFER_PLAN_RECENT", "1");
  parallel_slices_ = !env_is("TFJS_INFER_PARALLEL_SLICES", "0");
  fp32_parts_ = env_is("TFJS_INFER_FP32_PARTS", "1");
  set_num_threads(options.num_threads);
  const Precision requested = parse_precision(options.precision);
  if (options.device.kind != "cpu") {  // an unusable device first says why
    const std::string why = device_unusable_reason(options.device.kind, options.device.index);
    if (!why.empty()) fail(ErrorKind::kDevice, why);
  }
  if (requested != Precision::kFp32 && options.device.kind != "cpu")
    fail(ErrorKind::kDevice, "precision='" + options.precision +
                                 "' is a CPU engine option; on device '" + options.device.kind +
                                 "' models run in fp32 (allow_tf32=True for tensor cores)");
  precision_ =
      static_cast<int>(precision_supported(*kernels_, requested) ? requested : Precision::kFp32);
  if (precision_ != static_cast<int>(Precision::kFp32))
    slice_bytes_ = lowp_slice_bytes(static_cast<Precision>(precision_));
  if (graph_.outputs.empty()) fail(ErrorKind::kInvalidModel, "the model has no outputs");
  remove_dead_ops(graph_);  // not an optimization: a submodel runs only what it needs
  if (options.optimize) {
    remove_identities(graph_);
    fold_pads_into_convs(graph_);
    fold_batch_norm(graph_);
    fuse_residual_adds(graph_);
    fuse_activations(graph_);
    if (options.device.kind == "cpu") {  // cache blocking for the CPU's kernels only
      fuse_conv_chains(graph_);
      // A conv2d before a chain becomes its stem in fp32 and bf16 (in int8 a
      // conv2d takes its own per-sample path, ops/conv_int8.cpp).
      // TFJS_INFER_CHAIN_STEM=0: never, for A/B measurements.
      if (precision_ != static_cast<int>(Precision::kInt8) && !env_is("TFJS_INFER_CHAIN_STEM", "0"))
        fuse_chain_stems(graph_);
      fuse_conv_pools(graph_);
      if (precision_ == static_cast<int>(Precision::kInt8)) hoist_int8_projections(graph_);
    }
  }
  ops_.reserve(graph_.nodes.size());
  const bool on_device = options.device.kind != "cpu";
  for (OpNode& node : graph_.nodes) {
    if (requested != Precision::kFp32)
      node.attrs["precision"] =
          std::string(precision_name(op_precision(node, *kernels_, requested)));
    ops_.push_back(make_op(node, *kernels_));
    if (!on_device) node.weights.clear();  // the op holds its own (packed) copy
  }
  if (on_device) {  // the device backend uploads the weights from the graph
    device_ = make_device_runner({&graph_, &ops_, kernels_}, options.device);
    for (OpNode& node : graph_.nodes) node.weights.clear();
  }
  last_use_.assign(graph_.values.size(), -1);
  for (size_t i = 0; i < graph_.nodes.size(); ++i)
    for (int v : graph_.nodes[i].inputs) last_use_[v] = static_cast<int>(i);
  for (int v : graph_.outputs) last_use_[v] = static_cast<int>(graph_.nodes.size());

  // Validate the whole graph once at load with batch 1 (unknown dims -> 1),
  // so a broken model fails here and not at the first predict.
  // An input with unknown non-batch dims (a fully convolutional model) may
  // not fit size 1 (a 'valid' pooling window of 2, say): then a shape error is
  // the probe's, not the model's, and predict checks the real shapes.
  std::vector<Shape> probe;
  bool guessed_dims = false;
  for (int id : graph_.inputs) {
    Shape s = graph_.values[id].shape;
    for (size_t d = 0; d < s.size(); ++d)
      if (s[d] < 0) {
        s[d] = 1;
        guessed_dims = guessed_dims || d > 0;
      }
    probe.push_back(s);
  }
  std::shared_ptr<Plan> plan;
  try {
    plan = plan_for(probe);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::kInputShape) throw;
    if (!guessed_dims) fail(ErrorKind::kInvalidModel, e.what());
  }
  // Nothing lazy: the probe shapes' plan is the hot one and its workspace
  // (arena, views) exists before the first call (unless its sizes were guesses).
  if (plan && !guessed_dims) {
    recent_.push_back(plan);
    plan->pool.push_back(make_workspace(*plan));
  }
}

CompiledModel::~CompiledModel() = default;

void CompiledModel::set_num_threads(int n) {
  n = n > 0 ? n : default_num_threads();
  if (n > 256) n = 256;
  num_threads_.store(n, std::memory_order_relaxed);
  reserve_threads(n);  // start the pool's workers now, not at the first call
}

const char* CompiledModel::isa() const { return isa_name(kernels_->isa); }

std::vector<OpSummary> CompiledModel::ops() const {
  std::vector<OpSummary> out;
  for (const OpNode& n : graph_.nodes) out.push_back({n.name, n.type, n.inputs, n.outputs});
  return out;
}

std::vector<std::string> CompiledModel::op_precisions() const {
  std::vector<std::string> out;
  for (const OpNode& n : graph_.nodes) out.push_back(precision_name(node_precision(n)));
  return out;
}

const char* CompiledModel::precision() const {
  return precision_name(static_cast<Precision>(precision_));
}

size_t CompiledModel::num_plans() const {
  std::lock_guard<std::mutex> lock(plans_mutex_);
  return plans_.size();
}

void CompiledModel::check_inputs(const std::vector<Shape>& shapes) const {
  if (shapes.size() != graph_.inputs.size())
    fail(ErrorKind::kInputShape, "the model takes " + std::to_string(graph_.inputs.size()) +
                                     " inputs, received " + std::to_string(shapes.size()));
  for (size_t i = 0; i < shapes.size(); ++i) {
    const ValueInfo& info = graph_.values[graph_.inputs[i]];
    bool ok = shapes[i].size() == info.shape.size();
    for (size_t d = 0; ok && d < shapes[i].size(); ++d)
      ok = shapes[i][d] >= 0 && (info.shape[d] < 0 || info.shape[d] == shapes[i][d]);
    if (!ok)
      fail(ErrorKind::kInputShape, "input '" + info.name + "': expected shape " +
                                       shape_str(info.shape) + ", received " +
                                       shape_str(shapes[i]));
  }
}

std::shared_ptr<CompiledModel::Plan> CompiledModel::make_plan(
    const std::vector<Shape>& input_shapes) const {
  check_inputs(input_shapes);
  auto plan = std::make_shared<Plan>();
  plan->input_shapes = input_shapes;
  const size_t n_values = graph_.values.size();
  plan->types.resize(n_values);
  plan->offsets.assign(n_values, kNotPlanned);
  std::vector<bool> defined(n_values, false);
  for (size_t i = 0; i < graph_.inputs.size(); ++i) {
    const int id = graph_.inputs[i];
    plan->types[id] = {input_shapes[i], graph_.values[id].dtype};
    defined[id] = true;
  }

  // Model outputs written straight into the caller's arrays when an op
  // produces them and they appear once; others are computed, then copied.
  std::vector<int> direct(n_values, 0);
  for (int v : graph_.outputs) direct[v]++;
  plan->output_copied.resize(graph_.outputs.size());
  for (size_t j = 0; j < graph_.outputs.size(); ++j) {
    const int v = graph_.outputs[j];
    const bool is_input =
        std::find(graph_.inputs.begin(), graph_.inputs.end(), v) != graph_.inputs.end();
    plan->output_copied[j] = is_input || direct[v] != 1;
  }
  auto is_direct_output = [&](int v) {
    for (size_t j = 0; j < graph_.outputs.size(); ++j)
      if (graph_.outputs[j] == v && !plan->output_copied[j]) return true;
    return false;
  };

  std::vector<Live> live;
  std::vector<Touch> touched;  // freed spans (TFJS_INFER_PLAN_RECENT)
  // Output 0 of node i in the block of the input its op may overwrite
  // (Op::output_may_alias_input: a fused residual Add), when node i is that
  // input's last reader, the input is in the arena, read once by the node and
  // of the same size: the residual's lines are in cache when the output is
  // written over them, and the output's own block is never touched.
  auto take_over_input = [&](const OpNode& node, int i, int v, size_t bytes, int last) {
    const int slot = ops_[static_cast<size_t>(i)]->output_may_alias_input();
    if (slot < 0 || slot >= static_cast<int>(node.inputs.size()) || bytes == 0) return false;
    const int u = node.inputs[static_cast<size_t>(slot)];
    if (plan->offsets[u] == kNotPlanned || last_use_[u] != i ||
        std::count(node.inputs.begin(), node.inputs.end(), u) != 1)
      return false;
    for (Live& b : live) {
      if (b.offset != plan->offsets[u] || b.bytes != bytes) continue;
      b.last_use = last;
      plan->offsets[v] = b.offset;
      return true;
    }
    return false;
  };
  size_t arena = 0, scratch = 0;
  for (size_t i = 0; i < graph_.nodes.size(); ++i) {
    const OpNode& node = graph_.nodes[i];
    std::vector<ValueType> in;
    for (int v : node.inputs) {
      if (!defined[v]) fail(ErrorKind::kInvalidModel, node.where() + ": input used before defined");
      in.push_back(plan->types[v]);
    }
    std::vector<ValueType> out = ops_[i]->infer(in);
    if (out.size() != node.outputs.size())
      fail(ErrorKind::kInvalidModel, node.where() + ": op returned the wrong number of outputs");
    scratch = std::max(scratch, align_up(ops_[i]->scratch_bytes(in)));
    // Free blocks whose last reader ran before this op.
    auto freed = [&](const Live& b) { return b.last_use < static_cast<int>(i); };
    if (plan_recent_)
      for (const Live& b : live)
        if (freed(b)) mark_touched(touched, b.offset, b.bytes, b.last_use);
    live.erase(std::remove_if(live.begin(), live.end(), freed), live.end());
    for (size_t j = 0; j < out.size(); ++j) {
      const int v = node.outputs[j];
      checked_num_elements(out[j].shape);
      plan->types[v] = out[j];
      defined[v] = true;
      if (is_direct_output(v)) continue;
      const size_t bytes =
          align_up(checked_mul(static_cast<size_t>(num_elements(out[j].shape)), 4));
      const int last = last_use_[v] < 0 ? static_cast<int>(i) : last_use_[v];
      if (j == 0 && take_over_input(node, static_cast<int>(i), v, bytes, last)) continue;
      // First fit in the gaps between live blocks (sorted by offset), or
      // with TFJS_INFER_PLAN_RECENT=1 the most recently touched fit.
      std::sort(live.begin(), live.end(),
                [](const Live& a, const Live& b) { return a.offset < b.offset; });
      size_t offset = first_fit(live, bytes);
      if (plan_recent_) offset = recent_fit(live, touched, bytes, std::max(arena, offset + bytes));
      live.push_back({offset, bytes, last});
      plan->offsets[v] = offset;
      arena = std::max(arena, offset + bytes);
    }
  }
  plan->scratch_offset = arena;
  plan->arena_bytes = arena + scratch;
  return plan;
}

std::shared_ptr<CompiledModel::Plan> CompiledModel::plan_for(
    const std::vector<Shape>& input_shapes) const {
  {
    std::lock_guard<std::mutex> lock(plans_mutex_);
    auto it = plans_.find(input_shapes);
    if (it != plans_.end()) return it->second;
  }
  auto plan = make_plan(input_shapes);
  std::lock_guard<std::mutex> lock(plans_mutex_);
  if (plans_.size() >= kMaxPlans) plans_.clear();
  return plans_.emplace(input_shapes, plan).first->second;
}

size_t CompiledModel::workspace_bytes(const std::vector<Shape>& input_shapes) const {
  return make_plan(input_shapes)->arena_bytes;
}

std::vector<int64_t> CompiledModel::arena_offsets(const std::vector<Shape>& input_shapes) const {
  const std::shared_ptr<Plan> plan = make_plan(input_shapes);
  std::vector<int64_t> out;
  for (size_t offset : plan->offsets)
    out.push_back(offset == kNotPlanned ? -1 : static_cast<int64_t>(offset));
  return out;
}

std::vector<ValueType> CompiledModel::value_types(const std::vector<Shape>& input_shapes) const {
  return plan_for(input_shapes)->types;
}

std::vector<ValueType> CompiledModel::output_types(const std::vector<Shape>& input_shapes) const {
  auto plan = plan_for(input_shapes);
  std::vector<ValueType> out;
  for (int v : graph_.outputs) out.push_back(plan->types[v]);
  return out;
}

void CompiledModel::check_dtypes(const InputRef* inputs, size_t n) const {
  for (size_t i = 0; i < n; ++i) {
    const ValueInfo& info = graph_.values[graph_.inputs[i]];
    if (inputs[i].dtype != info.dtype)
      fail(ErrorKind::kInputDtype, "input '" + info.name + "': expected dtype " +
                                       dtype_name(info.dtype) + ", received " +
                                       dtype_name(inputs[i].dtype));
  }
}

CompiledModel::PlanPtr CompiledModel::plan_for(const InputRef* inputs, size_t n) const {
  if (n != graph_.inputs.size())
    fail(ErrorKind::kInputShape, "the model takes " + std::to_string(graph_.inputs.size()) +
                                     " inputs, received " + std::to_string(n));
  check_dtypes(inputs, n);
  {
    std::lock_guard<std::mutex> lock(plans_mutex_);
    for (size_t r = 0; r < recent_.size(); ++r) {
      if (!same_shapes(recent_[r]->input_shapes, inputs, n)) continue;
      if (r > 0) std::rotate(recent_.begin(), recent_.begin() + r, recent_.begin() + r + 1);
      return recent_.front();
    }
  }
  // First call with these shapes: the slow path may allocate.
  std::vector<Shape> shapes;
  for (size_t i = 0; i < n; ++i) {
    if (inputs[i].rank < 0 || (inputs[i].rank > 0 && !inputs[i].dims))
      fail(ErrorKind::kInputShape, "input " + std::to_string(i) + " has no shape");
    shapes.emplace_back(inputs[i].dims, inputs[i].dims + inputs[i].rank);
  }
  std::shared_ptr<Plan> plan = plan_for(shapes);
  std::lock_guard<std::mutex> lock(plans_mutex_);
  if (std::find(recent_.begin(), recent_.end(), plan) == recent_.end()) {
    recent_.insert(recent_.begin(), plan);
    if (recent_.size() > kRecentPlans) recent_.pop_back();
  }
  return plan;
}

const ValueType& CompiledModel::output_type(const Plan& plan, size_t j) const {
  return plan.types[graph_.outputs[j]];
}

std::atomic<size_t> g_workspaces_made{0};

size_t workspaces_made() { return g_workspaces_made.load(std::memory_order_relaxed); }

std::unique_ptr<CompiledModel::Workspace> CompiledModel::make_workspace(const Plan& plan) const {
  g_workspaces_made.fetch_add(1, std::memory_order_relaxed);
  auto ws = std::make_unique<Workspace>();
  ws->arena.reset(plan.arena_bytes);
  ws->ptrs.assign(graph_.values.size(), nullptr);
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

void CompiledModel::run(const std::vector<TensorView>& inputs,
                        const std::vector<TensorView>& outputs) const {
  std::vector<InputRef> refs(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i)
    refs[i] = {inputs[i].data, inputs[i].shape.data(), static_cast<int>(inputs[i].shape.size()),
               inputs[i].dtype};
  PlanPtr plan = plan_for(refs.data(), refs.size());
  if (outputs.size() != graph_.outputs.size())
    fail(ErrorKind::kInvalidModel, "wrong number of output buffers");
  std::vector<void*> out_ptrs(outputs.size());
  for (size_t j = 0; j < outputs.size(); ++j) {
    if (outputs[j].shape != plan->types[graph_.outputs[j]].shape)
      fail(ErrorKind::kInvalidModel, "output buffer " + std::to_string(j) + " has the wrong shape");
    out_ptrs[j] = outputs[j].data;
  }
  run(*plan, refs.data(), out_ptrs.data());
}

// The call a sliced run cuts into row ranges: its buffers and the bytes of
// one row of each input.
struct CompiledModel::SliceCall {
  const InputRef* inputs;
  void* const* outputs;
  int64_t batch;
  std::vector<size_t> in_row;
};

void CompiledModel::run(const Plan& plan, const InputRef* inputs, void* const* outputs,
                        int64_t* op_ns) const {
  const int threads = num_threads_.load(std::memory_order_relaxed);  // read once per call
  const int64_t rows = device_ ? 0 : slice_rows(plan, inputs, threads);
  if (rows == 0) {
    run_whole(plan, inputs, outputs, op_ns, threads);
    return;
  }
  SliceCall call{inputs, outputs, inputs[0].dims[0], {}};
  for (size_t i = 0; i < graph_.inputs.size(); ++i) {
    const Shape dims(inputs[i].dims, inputs[i].dims + inputs[i].rank);
    call.in_row.push_back(static_cast<size_t>(num_elements(dims) / call.batch) *
                          dtype_size(inputs[i].dtype));
  }
  if (slices_in_parallel(call.batch, threads, op_ns)) {
    run_slices_parallel(call, rows, threads);
    return;
  }
  if (op_ns) std::fill(op_ns, op_ns + ops_.size(), int64_t{0});
  run_slices(call, 0, call.batch, rows, threads, op_ns);
}

void CompiledModel::run_whole(const Plan& plan, const InputRef* inputs, void* const* outputs,
                              int64_t* op_ns, int threads) const {
  reserve_threads(threads);  // a no-op unless this process was forked since load
  if (device_) {
    if (op_ns)
      fail(ErrorKind::kUnsupported,
           "per-op profiles are measured on the CPU engine only; "
           "load the model with device='cpu' to profile it");
    std::vector<const void*> in(graph_.inputs.size());
    for (size_t i = 0; i < in.size(); ++i) in[i] = inputs[i].data;
    device_->run(plan.input_shapes, plan.types, in.data(), outputs, threads);
    return;
  }
  // A short call after idle runs on the threads that are awake: waking a
  // sleeping worker costs more than it could save. A burst of calls (or a
  // long one) wakes them.
  const int64_t start = now_ns();
  const int64_t gap = start - last_call_ns_.exchange(start, std::memory_order_relaxed);
  KeepSleepersAsleep keep(threads > 1 && gap > kBurstGapNs &&
                          plan.avg_run_ns.load(std::memory_order_relaxed) < kShortCallNs);

  // Take a workspace from the plan's pool (or build one for a concurrent call).
  std::unique_ptr<Workspace> ws;
  {
    std::lock_guard<std::mutex> lock(plan.pool_mutex);
    if (!plan.pool.empty()) {
      ws = std::move(plan.pool.back());
      plan.pool.pop_back();
    }
  }
  if (!ws) ws = make_workspace(plan);
  uint8_t* base = ws->arena.data();
  for (size_t v = 0; v < graph_.values.size(); ++v)
    ws->ptrs[v] = plan.offsets[v] == kNotPlanned ? nullptr : base + plan.offsets[v];
  // Inputs are read in place: the ops see the caller's buffers.
  for (size_t i = 0; i < graph_.inputs.size(); ++i)
    ws->ptrs[graph_.inputs[i]] = const_cast<void*>(inputs[i].data);
  for (size_t j = 0; j < graph_.outputs.size(); ++j)
    if (!plan.output_copied[j]) ws->ptrs[graph_.outputs[j]] = outputs[j];

  RunContext ctx;
  ctx.kernels = kernels_;
  ctx.num_threads = threads;
  ctx.scratch = base ? base + plan.scratch_offset : nullptr;
  for (size_t i = 0; i < ops_.size(); ++i) {
    const OpNode& node = graph_.nodes[i];
    for (size_t j = 0; j < node.inputs.size(); ++j)
      ws->in_views[i][j].data = ws->ptrs[node.inputs[j]];
    for (size_t j = 0; j < node.outputs.size(); ++j)
      ws->out_views[i][j].data = ws->ptrs[node.outputs[j]];
    if (op_ns) {
      const int64_t t0 = now_ns();
      ops_[i]->run(ctx, ws->in_views[i], ws->out_views[i]);
      op_ns[i] = now_ns() - t0;
    } else {
      ops_[i]->run(ctx, ws->in_views[i], ws->out_views[i]);
    }
  }
  for (size_t j = 0; j < graph_.outputs.size(); ++j)
    if (plan.output_copied[j])
      std::memcpy(outputs[j], ws->ptrs[graph_.outputs[j]],
                  static_cast<size_t>(num_elements(plan.types[graph_.outputs[j]].shape)) * 4);

  const int64_t took = now_ns() - start;
  const int64_t avg = plan.avg_run_ns.load(std::memory_order_relaxed);
  plan.avg_run_ns.store(avg == 0 ? took : avg + (took - avg) / 8, std::memory_order_relaxed);

  std::lock_guard<std::mutex> lock(plan.pool_mutex);
  plan.pool.push_back(std::move(ws));
}

// Sliced calls on several threads: each thread takes whole slices and runs
// each through the graph alone (no split and join per op; one join at the
// end), when there are at least as many samples as threads and no per-op
// profile is asked for (profiles time the slices one after another).
// AMD EPYC family 25 model 17 (Zen 4, 2 vCPUs shared with other work, load
// 3-7), 2 threads, batch 32, TFJS_INFER_PARALLEL_SLICES 0 against 1:
// bench/thread_scaling.py --trace (the pool trace's critical path, thread CPU
// time) int8 ResNet50 0.49x (work 664 ms against 853; 1 thread 667),
// bf16 ResNet50 0.80x, bf16 MobileNetV2 0.85x; bench/env_ab.py (wall clock)
// int8 ResNet50 0.75x, MobileNetV2 int8 0.85x and bf16 0.85x, ResNet50 int8
// at batch 8 0.87x, batch 3 0.86x.
bool CompiledModel::slices_in_parallel(int64_t batch, int threads, const int64_t* op_ns) const {
  return parallel_slices_ && threads > 1 && batch >= threads && !op_ns;
}

int64_t CompiledModel::slice_rows(const Plan& plan, const InputRef* inputs, int threads) const {
  if (graph_.inputs.empty()) return 0;
  const int64_t batch = inputs[0].rank > 0 ? inputs[0].dims[0] : 0;
  const bool parallel = slices_in_parallel(batch, threads, nullptr);
  // fp32 has no slice budget: only TFJS_INFER_FP32_PARTS=1 cuts its calls.
  const bool fp32_parts = slice_bytes_ == 0 && fp32_parts_ && parallel;
  if (batch < 2 || (slice_bytes_ == 0 && !fp32_parts)) return 0;
  // bf16 slices one after another on one thread only: at 2 threads, wall
  // clock, 5 rounds (AMD EPYC family 25 model 17, load 4-5: not steady),
  // ResNet50 batch 32 sliced took 1420 and 3711 ms against whole calls' 1304
  // and 2982 (each op's split and join, 32 times as many).
  if (precision_ == static_cast<int>(Precision::kBf16) && threads > 1 && !parallel) return 0;
  // Only calls whose every input and output has the batch first (the
  // graph's inputs leave it open), so that a slice of rows is a model call.
  for (size_t i = 0; i < graph_.inputs.size(); ++i) {
    const Shape& declared = graph_.values[graph_.inputs[i]].shape;
    if (inputs[i].rank < 1 || declared.empty() || declared[0] >= 0 || inputs[i].dims[0] != batch)
      return 0;
  }
  for (int v : graph_.outputs)
    if (plan.types[v].shape.empty() || plan.types[v].shape[0] != batch) return 0;
  if (fp32_parts) return batch / threads;
  // Slices in parallel hold one arena per thread at once, all in the shared
  // L3: each gets the budget divided by the threads (MobileNetV2 at 2
  // threads, the whole budget per thread against half: int8 and bf16 within
  // the host's noise, load 3-4).
  const size_t budget = parallel ? slice_bytes_ / static_cast<size_t>(threads) : slice_bytes_;
  const size_t per_row = plan.arena_bytes / static_cast<size_t>(batch);
  const int64_t rows = per_row > 0 ? static_cast<int64_t>(budget / per_row) : batch;
  const int64_t clipped = rows < 1 ? 1 : rows;
  return clipped < batch ? clipped : 0;
}

// Rows [r0, r0 + rows) of the call as a model call of their own.
void CompiledModel::run_rows(const SliceCall& call, int64_t r0, int64_t rows, int threads,
                             int64_t* op_ns) const {
  const size_t n_in = graph_.inputs.size(), n_out = graph_.outputs.size();
  std::vector<InputRef> part(call.inputs, call.inputs + n_in);
  std::vector<Shape> dims(n_in);
  for (size_t i = 0; i < n_in; ++i) {
    dims[i].assign(call.inputs[i].dims, call.inputs[i].dims + call.inputs[i].rank);
    dims[i][0] = rows;
    part[i].dims = dims[i].data();
    part[i].data =
        static_cast<const uint8_t*>(call.inputs[i].data) + static_cast<size_t>(r0) * call.in_row[i];
  }
  PlanPtr p = plan_for(part.data(), n_in);
  std::vector<void*> outs(n_out);
  for (size_t j = 0; j < n_out; ++j) {
    const ValueType& t = p->types[graph_.outputs[j]];
    const size_t out_row = static_cast<size_t>(num_elements(t.shape) / rows) * dtype_size(t.dtype);
    outs[j] = static_cast<uint8_t*>(call.outputs[j]) + static_cast<size_t>(r0) * out_row;
  }
  run_whole(*p, part.data(), outs.data(), op_ns, threads);
}

// Rows [begin, end) in slices of `rows`, one after another, each op split
// over `threads`; op_ns (zeroed by the caller) sums each op's times.
void CompiledModel::run_slices(const SliceCall& call, int64_t begin, int64_t end, int64_t rows,
                               int threads, int64_t* op_ns) const {
  std::vector<int64_t> ns(op_ns ? ops_.size() : 0);
  for (int64_t r0 = begin; r0 < end; r0 += rows) {
    run_rows(call, r0, std::min(rows, end - r0), threads, op_ns ? ns.data() : nullptr);
    for (size_t i = 0; op_ns && i < ns.size(); ++i) op_ns[i] += ns[i];
  }
}

// Each of the threads owns an equal share of batch / threads rows, run in
// slices of at most `rows` (balanced within the share), each slice on one
// thread (the pool's own runs: a late thread's slices go to the others). The
// batch % threads rows left run as today, each op split over the threads.
void CompiledModel::run_slices_parallel(const SliceCall& call, int64_t rows, int threads) const {
  reserve_threads(threads);
  const int64_t share = call.batch / threads;
  const int64_t per_share = (share + rows - 1) / rows;
  parallel_for_owned(per_share * threads, threads, [&](int64_t task) {
    const int64_t base = task / per_share * share, j = task % per_share;
    const int64_t r0 = base + share * j / per_share, r1 = base + share * (j + 1) / per_share;
    run_rows(call, r0, r1 - r0, 1, nullptr);
  });
  run_slices(call, share * threads, call.batch, rows, threads, nullptr);
}

}  // namespace tfjs_infer
