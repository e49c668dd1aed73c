// Graph rewrites run once when a model is compiled (passes.cpp). The layer
// above ops/: passes ask each op type's traits (ops/registry.h) what it
// accepts; core/ knows nothing of either.
#pragma once

#include "core/graph.h"

namespace tfjs_infer {

void remove_dead_ops(Graph& g);
void remove_identities(Graph& g);
void fold_batch_norm(Graph& g);
void fuse_residual_adds(Graph& g);
void fold_pads_into_convs(Graph& g);
void fuse_conv_chains(Graph& g);
void fuse_chain_stems(Graph& g);
void fuse_conv_pools(Graph& g);
void fuse_activations(Graph& g);
// compile/int8_order_pass.cpp: int8 models' projection shortcuts run first.
void hoist_int8_projections(Graph& g);

}  // namespace tfjs_infer
