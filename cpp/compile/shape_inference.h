// Shape inference while the graph is built: the one place output shapes come
// from. Each op's infer() (ops/) is its shape rule; the frontend asks it for
// every op it adds instead of computing shapes itself. Unknown dims are -1
// (None in Python: the batch, a free time axis) and every infer() propagates
// them.
#pragma once

#include <string>
#include <vector>

#include "core/graph.h"

namespace tfjs_infer {

// Adds `node` to `g` with as many outputs as its op gives, typed by its
// shape rule (infer() on the inputs' recorded types); returns the output
// value ids. The op is built without packing its weights (shape-only), so
// this validates attributes and weights too, and throws the core's Error
// (naming the layer) when they or the inputs do not fit; nothing is added then.
std::vector<int> add_inferred_op(Graph& g, OpNode node);

}  // namespace tfjs_infer
