// hoist_int8_projections (passes.h): the order of an int8 model's ops, for
// where the memory plan puts their outputs (compile/model.cpp).
#include <vector>

#include "compile/passes.h"
#include "core/env_switch.h"

namespace tfjs_infer {

namespace {

int readers(const Graph& g, int v) {
  int n = 0;
  for (const OpNode& node : g.nodes)
    for (int in : node.inputs) n += in == v;
  for (int out : g.outputs) n += out == v;
  return n;
}

int producer(const Graph& g, int v) {
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (int out : g.nodes[i].outputs)
      if (out == v) return static_cast<int>(i);
  return -1;
}

// A 1x1 conv2d of one input and one output (ResNet's projection shortcut).
bool projection_like(const OpNode& n) {
  if (n.type != "conv2d" || n.inputs.size() != 1 || n.outputs.size() != 1) return false;
  const WeightTensor* k = n.weight("kernel");
  return k && k->shape.size() == 4 && k->shape[0] == 1 && k->shape[1] == 1;
}

}  // namespace

// A bottleneck unit with a projection shortcut reads its input x0 twice: the
// 1x1 conv_0 (the shortcut, read once, as the fused residual of the unit's
// last conv) and the 1x1 conv_1 that starts the main branch; Keras lists the
// main branch first. conv_0 moves up to right after x0's producer. Its output
// is the unit's largest (4x conv_1's channels) and the first-fit plan then
// puts it in the block that x0's own input just freed, whose lines are still
// cached, instead of fresh arena that the slice has not touched (on Zen 4 an
// int8 slice's first touch of a block reads it from memory: the whole weight
// set streams between slices). EPYC family 25 model 17, 1 thread, ResNet50
// int8 at batch 1 (per op, interleaved): conv2_block1_0 + _3 0.93 -> 0.68 ms,
// stages 3-5 0.97-0.99x. The plan also shrinks (ResNet50 int8: 6.9 -> 5.0 MiB
// an image), which is why int8 slices on Zen 4 have their own budget
// (kernels/cpu_params.cpp int8_slice_bytes). Same ops, same bits: only the
// order of two independent ops changes. TFJS_INFER_INT8_HOIST=0 (read at
// load) keeps Keras's order, for A/B measurements.
void hoist_int8_projections(Graph& g) {
  if (env_is("TFJS_INFER_INT8_HOIST", "0")) return;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const OpNode& c3 = g.nodes[i];
    if (c3.type != "conv2d" || !c3.attr_int("has_residual", 0) || c3.inputs.size() != 2) continue;
    const int s = c3.inputs[1];
    const int p = producer(g, s);
    if (p < 0 || !projection_like(g.nodes[static_cast<size_t>(p)]) || readers(g, s) != 1) continue;
    // Right after x0's producer (0 when x0 is a graph input): every input of
    // conv_0 exists there, and nothing between reads its output.
    const int to = producer(g, g.nodes[static_cast<size_t>(p)].inputs[0]) + 1;
    if (to >= p) continue;
    OpNode moved = std::move(g.nodes[static_cast<size_t>(p)]);
    g.nodes.erase(g.nodes.begin() + p);
    g.nodes.insert(g.nodes.begin() + to, std::move(moved));
  }
}

}  // namespace tfjs_infer
