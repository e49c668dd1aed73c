// Graph rewrites done once at compile: drop inference no-ops, fold
// BatchNormalization into the preceding dense/conv, fuse activations into
// epilogues. Each pass keeps the graph's values and outputs valid.
#include <cmath>
#include <string>
#include <vector>

#include "compile/passes.h"
#include "ops/registry.h"

namespace tfjs_infer {

namespace {

// How many ops read value `v`, plus one if it is a model output.
int use_count(const Graph& g, int v) {
  int n = 0;
  for (const OpNode& node : g.nodes)
    for (int in : node.inputs) n += in == v;
  for (int out : g.outputs) n += out == v;
  return n;
}

int producer_of(const Graph& g, int v) {
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (int out : g.nodes[i].outputs)
      if (out == v) return static_cast<int>(i);
  return -1;
}

void replace_uses(Graph& g, int from, int to) {
  for (OpNode& node : g.nodes)
    for (int& in : node.inputs)
      if (in == from) in = to;
  for (int& out : g.outputs)
    if (out == from) out = to;
}

bool channels_last(const OpNode& node) {
  return node.attr_str("data_format", "channels_last") == "channels_last";
}

// Values a and b have one shape: same rank (>= 1), the same known size on
// every axis but the first (the batch, which may be unknown in both).
bool same_shape_but_batch(const Graph& g, int a, int b) {
  const Shape& sa = g.values[a].shape;
  const Shape& sb = g.values[b].shape;
  if (sa.empty() || sa != sb) return false;
  for (size_t d = 1; d < sa.size(); ++d)
    if (sa[d] < 0) return false;
  return true;
}

bool has_linear_activation(const OpNode& node) {
  return node.attr_str("activation", "linear") == "linear";
}

}  // namespace

// Drops the ops no model output depends on (a submodel cut short of the full
// model's outputs computes only what its outputs need). Nodes are in
// execution order, so one backward sweep finds every needed value.
void remove_dead_ops(Graph& g) {
  std::vector<bool> needed(g.values.size(), false);
  for (int v : g.outputs) needed[v] = true;
  std::vector<bool> keep(g.nodes.size(), false);
  for (size_t i = g.nodes.size(); i-- > 0;) {
    for (int v : g.nodes[i].outputs) keep[i] = keep[i] || needed[v];
    if (keep[i])
      for (int v : g.nodes[i].inputs) needed[v] = true;
  }
  size_t kept = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (keep[i]) {
      if (kept != i) g.nodes[kept] = std::move(g.nodes[i]);
      ++kept;
    }
  g.nodes.resize(kept);
}

void remove_identities(Graph& g) {
  for (size_t i = 0; i < g.nodes.size();) {
    if (g.nodes[i].type == "identity" && g.nodes[i].inputs.size() == 1) {
      replace_uses(g, g.nodes[i].outputs[0], g.nodes[i].inputs[0]);
      g.nodes.erase(g.nodes.begin() + static_cast<long>(i));
    } else {
      ++i;
    }
  }
}

// y = (x W + b) * s + t  ==  x (W s) + (b s + t), per output channel.
void fold_batch_norm(Graph& g) {
  for (size_t i = 0; i < g.nodes.size();) {
    OpNode& bn = g.nodes[i];
    const bool last_axis = bn.type == "batch_norm" && bn.attr_int("axis", -1) == -1;
    const int p = last_axis ? producer_of(g, bn.inputs[0]) : -1;
    if (p < 0 || !op_traits(g.nodes[p].type).folds_batch_norm || !channels_last(g.nodes[p]) ||
        !has_linear_activation(g.nodes[p]) || use_count(g, bn.inputs[0]) != 1) {
      ++i;
      continue;
    }
    OpNode& prod = g.nodes[p];
    auto kit = prod.weights.find("kernel");
    if (kit == prod.weights.end() || kit->second.shape.empty()) {
      ++i;
      continue;
    }
    WeightTensor& kernel = kit->second;
    const int64_t channels = kernel.shape.back();
    const WeightTensor* mean = bn.weight("moving_mean");
    const WeightTensor* var = bn.weight("moving_variance");
    if (!mean || !var || mean->size() != channels || var->size() != channels) {
      ++i;
      continue;
    }
    const WeightTensor* gamma = bn.weight("gamma");
    const WeightTensor* beta = bn.weight("beta");
    const double eps = bn.attr_float("epsilon", 1e-3);
    if (prod.weights.find("bias") == prod.weights.end()) {
      WeightTensor zero;
      zero.shape = {channels};
      zero.f32.assign(static_cast<size_t>(channels), 0.0f);
      prod.weights["bias"] = zero;
    }
    WeightTensor& bias = prod.weights["bias"];
    bias.apply_scale();
    float* b = bias.f32.mutable_data();
    std::vector<double> scale(static_cast<size_t>(channels));
    for (int64_t c = 0; c < channels; ++c) {
      scale[c] = (gamma ? gamma->f32[c] : 1.0) / std::sqrt(var->f32[c] + eps);
      const double shift = (beta ? beta->f32[c] : 0.0) - mean->f32[c] * scale[c];
      b[c] = static_cast<float>(b[c] * scale[c] + shift);
    }
    // The kernel's scale stays pending (WeightTensor::values applies it, as
    // float(w * s), when the op packs the kernel): a borrowed kernel is not
    // copied here. A second fold applies the first one's scale first.
    kernel.apply_scale();
    kernel.scale = std::move(scale);
    replace_uses(g, bn.outputs[0], prod.outputs[0]);
    g.nodes.erase(g.nodes.begin() + static_cast<long>(i));
  }
}

// add(op(x), r) -> op(x, residual=r) when the add does not broadcast (both
// inputs have one shape, known but for the batch: the values' shapes
// recorded while the graph was built) and r is ready before op runs, so the
// epilogue adds r and each output is written once.
void fuse_residual_adds(Graph& g) {
  for (size_t i = 0; i < g.nodes.size();) {
    OpNode& add = g.nodes[i];
    bool fused = false;
    if (add.type == "add" && add.inputs.size() == 2 &&
        same_shape_but_batch(g, add.inputs[0], add.inputs[1])) {
      for (int side = 0; side < 2 && !fused; ++side) {
        const int v = add.inputs[side], other = add.inputs[1 - side];
        const int p = producer_of(g, v);
        if (p < 0 || v == other || !op_traits(g.nodes[p].type).fuses_residual) continue;
        OpNode& prod = g.nodes[p];
        if (!has_linear_activation(prod) || prod.attr_int("has_residual", 0) ||
            use_count(g, v) != 1 || prod.outputs.size() != 1)
          continue;
        if (producer_of(g, other) >= p) continue;  // must exist before prod runs
        prod.inputs.push_back(other);
        prod.attrs["has_residual"] = int64_t{1};
        replace_uses(g, add.outputs[0], prod.outputs[0]);
        g.nodes.erase(g.nodes.begin() + static_cast<long>(i));
        fused = true;
      }
    }
    if (!fused) ++i;
  }
}

// pad(x) -> conv(., 'valid') becomes conv(x, padding 'explicit', pads): the
// convolution skips the taps that would read zeros, and the padded copy (a
// full pass over the activation in MobileNets' stride-2 blocks) is never made.
void fold_pads_into_convs(Graph& g) {
  for (size_t i = 0; i < g.nodes.size();) {
    const OpNode& pad = g.nodes[i];
    int c = -1;
    if (pad.type == "pad" && pad.inputs.size() == 1 && pad.outputs.size() == 1 &&
        use_count(g, pad.outputs[0]) == 1) {
      for (size_t j = 0; j < g.nodes.size() && c < 0; ++j)
        if (!g.nodes[j].inputs.empty() && g.nodes[j].inputs[0] == pad.outputs[0])
          c = static_cast<int>(j);
    }
    const int spatial_rank = c < 0 ? 0 : op_traits(g.nodes[c].type).pad_fold_rank;
    bool ok = spatial_rank > 0 && g.nodes[c].attr_str("padding", "valid") == "valid" &&
              pad.has_attr("begin");
    std::vector<int64_t> begin, end;
    if (ok) {
      begin = pad.attr_ints("begin");
      end = pad.attr_ints("end");
      const size_t rank = static_cast<size_t>(spatial_rank);
      ok = begin.size() == rank + 1 && end.size() == rank + 1 && begin[rank] == 0 &&
           end[rank] == 0;  // channels untouched
      for (size_t d = 0; ok && d < rank; ++d) ok = begin[d] >= 0 && end[d] >= 0;
    }
    if (!ok) {
      ++i;
      continue;
    }
    OpNode& conv = g.nodes[c];
    std::vector<int64_t> pads;
    for (int d = 0; d < spatial_rank; ++d) {
      pads.push_back(begin[d]);
      pads.push_back(end[d]);
    }
    conv.attrs["padding"] = std::string("explicit");
    conv.attrs["pads"] = pads;
    conv.inputs[0] = pad.inputs[0];
    g.nodes.erase(g.nodes.begin() + static_cast<long>(i));
  }
}

namespace {

// A conv2d that is a plain 1x1 stride-1 GEMM (no groups, pads or residual).
bool is_pointwise_conv2d(const OpNode& n) {
  if (n.type != "conv2d" || n.attr_int("groups", 1) != 1 || n.attr_int("has_residual", 0) ||
      n.attr_str("padding", "valid") == "explicit" || n.outputs.size() != 1)
    return false;
  const WeightTensor* k = n.weight("kernel");
  if (!k || k->shape.size() != 4 || k->shape[0] != 1 || k->shape[1] != 1) return false;
  for (int64_t s : n.attr_ints("strides", {1, 1}))
    if (s != 1) return false;
  return true;
}

bool elementwise_activation(const OpNode& n) {
  const std::string a = n.attr_str("activation", "linear");
  return a != "softmax" && a != "log_softmax";
}

void move_stage_attrs(const OpNode& from, OpNode& to, const std::string& prefix) {
  for (const char* key : {"activation", "act_alpha", "act_beta", "act_gamma"}) {
    auto it = from.attrs.find(key);
    if (it != from.attrs.end()) to.attrs[prefix + key] = it->second;
  }
}

}  // namespace

// [1x1 expand conv ->] depthwise -> 1x1 project conv (+ fused residual)
// becomes one "conv_chain" op, which keeps the wide intermediate activations
// in per-thread scratch (ops/conv_chain.cpp). Runs after the BatchNorm,
// residual and activation folds, so each stage already carries its epilogue.
void fuse_conv_chains(Graph& g) {
  for (size_t next = 0; next < g.nodes.size();) {
    const size_t i = next++;
    const OpNode& d = g.nodes[i];
    if (d.type != "depthwise_conv2d" || d.attr_int("depth_multiplier", 1) != 1 ||
        !elementwise_activation(d) || d.inputs.size() != 1 || d.outputs.size() != 1 ||
        use_count(g, d.outputs[0]) != 1)
      continue;
    const WeightTensor* dk = d.weight("kernel");
    if (!dk || dk->shape.size() != 3) continue;
    int p = -1;
    for (size_t j = i + 1; j < g.nodes.size() && p < 0; ++j)
      if (!g.nodes[j].inputs.empty() && g.nodes[j].inputs[0] == d.outputs[0])
        p = static_cast<int>(j);
    if (p < 0 || g.nodes[p].type != "conv2d" || g.nodes[p].attr_int("groups", 1) != 1 ||
        g.nodes[p].attr_str("padding", "valid") == "explicit")
      continue;
    const OpNode& proj = g.nodes[p];
    const WeightTensor* pk = proj.weight("kernel");
    bool proj_ok = pk && pk->shape.size() == 4 && pk->shape[0] == 1 && pk->shape[1] == 1 &&
                   pk->shape[2] == dk->shape[2];
    for (int64_t s : proj.attr_ints("strides", {1, 1})) proj_ok = proj_ok && s == 1;
    if (!proj_ok) continue;
    const int e = producer_of(g, d.inputs[0]);
    const bool expand = e >= 0 && is_pointwise_conv2d(g.nodes[e]) &&
                        use_count(g, d.inputs[0]) == 1 && elementwise_activation(g.nodes[e]) &&
                        g.nodes[e].weight("kernel")->shape[3] == dk->shape[2];
    OpNode chain;
    chain.type = "conv_chain";
    chain.name = proj.name;
    chain.inputs = {expand ? g.nodes[e].inputs[0] : d.inputs[0]};
    if (proj.attr_int("has_residual", 0)) chain.inputs.push_back(proj.inputs[1]);
    chain.outputs = proj.outputs;
    chain.attrs["has_expand"] = int64_t{expand ? 1 : 0};
    chain.attrs["has_residual"] = proj.attr_int("has_residual", 0);
    for (const char* key : {"strides", "dilations", "padding", "pads"}) {
      auto it = d.attrs.find(key);
      if (it != d.attrs.end()) chain.attrs[key] = it->second;
    }
    move_stage_attrs(d, chain, "dw.");
    move_stage_attrs(proj, chain, "");
    auto take = [&](OpNode& from, const char* key, const char* as) {
      auto it = from.weights.find(key);
      if (it != from.weights.end()) chain.weights[as] = std::move(it->second);
    };
    if (expand) {
      move_stage_attrs(g.nodes[e], chain, "expand.");
      take(g.nodes[e], "kernel", "expand_kernel");
      take(g.nodes[e], "bias", "expand_bias");
    }
    take(g.nodes[i], "kernel", "dw_kernel");
    take(g.nodes[i], "bias", "dw_bias");
    take(g.nodes[p], "kernel", "project_kernel");
    take(g.nodes[p], "bias", "project_bias");
    // The chain takes the project's place (all its inputs exist by then).
    g.nodes[p] = std::move(chain);
    g.nodes.erase(g.nodes.begin() + static_cast<long>(i));
    if (expand) g.nodes.erase(g.nodes.begin() + e);
    next = expand ? static_cast<size_t>(e) : i;  // the nodes after shifted down
  }
}

namespace {

// A conv2d a chain can take as its stem (ops/conv_base.h make_conv2d_rows):
// 2D channels-last, ungrouped, undilated, no fused residual, an element-wise
// epilogue (as an expand's).
bool stem_conv2d(const OpNode& n) {
  if (n.type != "conv2d" || n.attr_int("groups", 1) != 1 || n.attr_int("has_residual", 0) ||
      !channels_last(n) || !elementwise_activation(n) || n.inputs.size() != 1 ||
      n.outputs.size() != 1)
    return false;
  const WeightTensor* k = n.weight("kernel");
  if (!k || k->shape.size() != 4) return false;
  for (int64_t d : n.attr_ints("dilations", {1, 1}))
    if (d != 1) return false;
  return true;
}

}  // namespace

// conv2d -> conv_chain without an expand (MobileNetV2's first conv and block
// 0): the chain takes the conv as its stem stage, so the conv's output rows
// are made band by band in the chain's per-thread scratch instead of going
// through memory (ops/conv_chain.cpp; the same bits). Only where the conv's
// output goes nowhere else. Runs after fuse_conv_chains.
void fuse_chain_stems(Graph& g) {
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    OpNode& chain = g.nodes[i];
    if (chain.type != "conv_chain" || chain.attr_int("has_expand", 0) ||
        chain.attr_int("has_stem", 0))
      continue;
    const int c = producer_of(g, chain.inputs[0]);
    if (c < 0 || !stem_conv2d(g.nodes[c]) || use_count(g, chain.inputs[0]) != 1) continue;
    OpNode& conv = g.nodes[c];
    const WeightTensor* dk = chain.weight("dw_kernel");
    if (!dk || dk->shape.size() != 3 || conv.weight("kernel")->shape[3] != dk->shape[2]) continue;
    chain.inputs[0] = conv.inputs[0];
    chain.attrs["has_stem"] = int64_t{1};
    for (const auto& [key, value] : conv.attrs)
      if (key != "has_residual" && key != "groups" && key != "data_format")
        chain.attrs["stem." + key] = value;
    chain.weights["stem_kernel"] = std::move(conv.weights["kernel"]);
    auto bias = conv.weights.find("bias");
    if (bias != conv.weights.end()) chain.weights["stem_bias"] = std::move(bias->second);
    g.nodes.erase(g.nodes.begin() + c);  // before the chain: i moves down one
    --i;
  }
}

// op -> pooling, where the pooling's traits give a fusable window (a
// non-overlapping 'valid' 2D one) and the op's accept it (pool_fused_type,
// takes_pool): conv2d -> MaxPool, MNIST-style, becomes conv2d_pool, which
// computes bands of output rows into per-thread scratch and pools them there
// (ops/conv_pool.cpp), so the full-size output, pool_h x pool_w times the
// pooled one, never goes through memory. Runs after the activation fold: the
// conv's epilogue comes before the pooling, as in the unfused graph.
void fuse_conv_pools(Graph& g) {
  for (size_t i = 0; i < g.nodes.size();) {
    const OpNode& pool = g.nodes[i];
    bool fused = false;
    const OpTraits& pool_traits = op_traits(pool.type);
    const std::vector<int64_t> size = pool_traits.fusable_pool_window && pool.inputs.size() == 1
                                          ? pool_traits.fusable_pool_window(pool)
                                          : std::vector<int64_t>{};
    const int p = size.empty() ? -1 : producer_of(g, pool.inputs[0]);
    OpNode* conv = p >= 0 ? &g.nodes[p] : nullptr;
    const OpTraits* conv_traits = conv ? &op_traits(conv->type) : nullptr;
    if (conv && !conv_traits->pool_fused_type.empty() &&
        (!conv_traits->takes_pool || conv_traits->takes_pool(*conv)) && conv->outputs.size() == 1 &&
        use_count(g, pool.inputs[0]) == 1) {
      conv->type = conv_traits->pool_fused_type;
      conv->attrs["pool_mode"] = pool.attr_str("mode");
      conv->attrs["pool_size"] = size;
      conv->attrs["pool_max_from_lowest"] = pool.attr_int("max_from_lowest", 0);
      replace_uses(g, pool.outputs[0], conv->outputs[0]);
      g.nodes.erase(g.nodes.begin() + static_cast<long>(i));
      fused = true;
    }
    if (!fused) ++i;
  }
}

void fuse_activations(Graph& g) {
  for (size_t i = 0; i < g.nodes.size();) {
    OpNode& act = g.nodes[i];
    const int p = act.type == "activation" ? producer_of(g, act.inputs[0]) : -1;
    if (p < 0 || !op_traits(g.nodes[p].type).fuses_activation ||
        !has_linear_activation(g.nodes[p]) || use_count(g, act.inputs[0]) != 1) {
      ++i;
      continue;
    }
    OpNode& prod = g.nodes[p];
    for (const char* key : {"activation", "act_alpha", "act_beta", "act_gamma"}) {
      auto it = act.attrs.find(key);
      if (it != act.attrs.end()) prod.attrs[key] = it->second;
    }
    replace_uses(g, act.outputs[0], prod.outputs[0]);
    g.nodes.erase(g.nodes.begin() + static_cast<long>(i));
  }
}

}  // namespace tfjs_infer
