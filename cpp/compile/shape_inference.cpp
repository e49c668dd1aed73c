#include "compile/shape_inference.h"

#include "ops/registry.h"

namespace tfjs_infer {
namespace {

size_t no_packed_size(int64_t /*k*/, int64_t /*n*/) { return 0; }
void no_pack(const float* /*b*/, int64_t /*k*/, int64_t /*n*/, const double* /*col_scale*/,
             float* /*packed*/) {}

// The portable kernels with packing turned into a no-op: an op built on this
// table validates and knows its dims but packs nothing (graph building stays
// cheap; the compiled model builds the real op).
const KernelTable& shape_only_kernels() {
  static const KernelTable table = [] {
    KernelTable t = *kernels_for(Isa::kGeneric);
    t.gemm_packed_b_size = no_packed_size;
    t.gemm_pack_b = no_pack;
    return t;
  }();
  return table;
}

std::vector<ValueType> infer_types(const Graph& g, const OpNode& node) {
  std::vector<ValueType> in;
  in.reserve(node.inputs.size());
  for (int v : node.inputs) {
    g.check_value(v, node.where());
    in.push_back({g.values[v].shape, g.values[v].dtype});
  }
  return make_op(node, shape_only_kernels())->infer(in);
}

}  // namespace

std::vector<int> add_inferred_op(Graph& g, OpNode node) {
  std::vector<ValueType> out;
  try {
    out = infer_types(g, node);
  } catch (const Error& e) {
    // Inputs that do not fit an op while the graph is built: the model's
    // fault, not a caller's input (those are kInputShape/kInputDtype at
    // predict time).
    if (e.kind() != ErrorKind::kInputShape && e.kind() != ErrorKind::kInputDtype) throw;
    fail(ErrorKind::kInvalidModel, e.what());
  }
  const std::vector<int> ids = g.add_op(std::move(node), static_cast<int>(out.size()));
  for (size_t j = 0; j < out.size(); ++j) {
    g.values[ids[j]].shape = out[j].shape;
    g.values[ids[j]].dtype = out[j].dtype;
  }
  return ids;
}

}  // namespace tfjs_infer
