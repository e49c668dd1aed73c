#include "cuda/runtime/device_plan.h"

#include <algorithm>
#include <numeric>

namespace tfjs_infer {

namespace {
constexpr size_t kAlign = 256;  // cudaMalloc's alignment: every block keeps it
size_t align_up(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

size_t value_bytes(const ValueType& t) {
  return checked_mul(static_cast<size_t>(checked_num_elements(t.shape)), dtype_size(t.dtype));
}

// Per value: the op that writes it (-1 for a model input).
std::vector<int> producers(const Graph& g) {
  std::vector<int> producer(g.values.size(), -1);
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (int v : g.nodes[i].outputs) producer[v] = static_cast<int>(i);
  return producer;
}
}  // namespace

std::vector<size_t> pack_by_liveness(const std::vector<size_t>& bytes,
                                     const std::vector<int>& first, const std::vector<int>& last,
                                     size_t* total) {
  std::vector<size_t> order(bytes.size()), offset(bytes.size(), 0);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return first[a] < first[b]; });
  struct Live {
    size_t offset, bytes;
    int last;
  };
  std::vector<Live> live;
  *total = 0;
  for (size_t b : order) {
    // Blocks whose last reader ran before this block's writer are free; a
    // block read by its own writer's op stays live (no in-place aliasing).
    live.erase(
        std::remove_if(live.begin(), live.end(), [&](const Live& l) { return l.last < first[b]; }),
        live.end());
    std::sort(live.begin(), live.end(),
              [](const Live& x, const Live& y) { return x.offset < y.offset; });
    size_t at = 0;
    for (const Live& l : live) {
      if (at + bytes[b] <= l.offset) break;
      at = std::max(at, l.offset + l.bytes);
    }
    live.push_back({at, bytes[b], last[b]});
    offset[b] = at;
    *total = std::max(*total, at + bytes[b]);
  }
  return offset;
}

DevicePlan make_device_plan(const Graph& g, const std::vector<Shape>& input_shapes,
                            const std::vector<ValueType>& types, const std::vector<bool>& on_device,
                            const std::vector<size_t>& op_scratch) {
  const size_t n_values = g.values.size();
  const int end = static_cast<int>(g.nodes.size());  // "read after the last op"
  DevicePlan plan;
  plan.input_shapes = input_shapes;
  plan.types = types;
  plan.dev_offset.assign(n_values, kNoSlot);
  plan.host_offset.assign(n_values, kNoSlot);
  plan.steps.resize(g.nodes.size());
  const std::vector<int> producer = producers(g);

  // Who needs each value where, and when it is read last.
  std::vector<bool> need_dev(n_values, false), need_host(n_values, false);
  std::vector<int> last(n_values, -1);
  std::vector<bool> is_input(n_values, false), is_output(n_values, false);
  for (int v : g.inputs) is_input[v] = true;
  for (int v : g.outputs) is_output[v] = true;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    plan.steps[i].on_device = on_device[i];
    for (int v : g.nodes[i].outputs) (on_device[i] ? need_dev : need_host)[v] = true;
    for (int v : g.nodes[i].inputs) {
      (on_device[i] ? need_dev : need_host)[v] = true;
      last[v] = static_cast<int>(i);
    }
  }
  for (int v : g.outputs) {
    last[v] = end;
    if (!is_input[v]) (on_device[producer[v]] ? need_dev : need_host)[v] = true;
  }

  // The inputs block, then the outputs computed on the device.
  for (int v : g.inputs) {
    plan.dev_offset[v] = plan.in_bytes;
    plan.input_offset.push_back(plan.in_bytes);
    plan.in_bytes += align_up(value_bytes(types[v]));
  }
  plan.out_begin = plan.in_bytes;
  for (int v : g.outputs) {
    if (is_input[v] || !on_device[producer[v]] || plan.dev_offset[v] != kNoSlot) continue;
    plan.dev_offset[v] = plan.out_begin + plan.out_bytes;
    plan.out_bytes += align_up(value_bytes(types[v]));
  }

  // Activations on the device and in the host arena, packed by liveness.
  std::vector<int> dev_vals, host_vals;
  for (size_t v = 0; v < n_values; ++v) {
    if (is_input[v] || producer[v] < 0) continue;
    if (need_dev[v] && plan.dev_offset[v] == kNoSlot) dev_vals.push_back(static_cast<int>(v));
    if (need_host[v]) host_vals.push_back(static_cast<int>(v));
    // A value crossing sides is copied right after its producer ran.
    const bool made_on_device = on_device[producer[v]];
    if (made_on_device ? need_host[v] : need_dev[v])
      plan.steps[producer[v]].copies_after.push_back({static_cast<int>(v), !made_on_device});
  }
  auto pack = [&](const std::vector<int>& vals, std::vector<size_t>& offsets, size_t base) {
    std::vector<size_t> bytes;
    std::vector<int> first, lastv;
    for (int v : vals) {
      bytes.push_back(align_up(value_bytes(types[v])));
      first.push_back(producer[v]);
      lastv.push_back(std::max(last[v], producer[v]));
    }
    size_t total = 0;
    const std::vector<size_t> at = pack_by_liveness(bytes, first, lastv, &total);
    for (size_t k = 0; k < vals.size(); ++k) offsets[vals[k]] = base + at[k];
    return total;
  };
  const size_t acts_begin = plan.out_begin + plan.out_bytes;
  plan.dev_scratch_offset = acts_begin + pack(dev_vals, plan.dev_offset, acts_begin);
  plan.host_scratch_offset = pack(host_vals, plan.host_offset, 0);
  size_t dev_scratch = 0, host_scratch = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    (on_device[i] ? dev_scratch : host_scratch) =
        std::max(on_device[i] ? dev_scratch : host_scratch, align_up(op_scratch[i]));
  plan.dev_bytes = plan.dev_scratch_offset + dev_scratch;
  plan.host_bytes = plan.host_scratch_offset + host_scratch;

  for (int v : g.outputs) {
    OutputSource src;
    src.bytes = value_bytes(types[v]);
    if (is_input[v]) {
      src.kind = OutputSource::kCallerInput;
      src.input =
          static_cast<int>(std::find(g.inputs.begin(), g.inputs.end(), v) - g.inputs.begin());
    } else if (on_device[producer[v]]) {
      src.kind = OutputSource::kStagedOut;
      src.offset = plan.dev_offset[v] - plan.out_begin;
    } else {
      src.kind = OutputSource::kHostArena;
      src.offset = plan.host_offset[v];
    }
    plan.outputs.push_back(src);
  }
  return plan;
}

}  // namespace tfjs_infer
