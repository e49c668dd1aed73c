// The device memory plan of one input-shape set: where each value lives on
// the device and, for values the CPU fallback ops read or write, in pinned
// host memory; which copies run after which op. Built once per shape set and
// reused by every call with those shapes.
//
// Device workspace:  [inputs | device-computed outputs | activations | scratch]
// Pinned staging:    [inputs | device-computed outputs]   (one copy each way)
// Pinned host arena: [values the CPU ops touch | CPU scratch]
// Activations and the host arena are packed by liveness, first fit: a block
// is free again once the last op reading its value has run.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/graph.h"
#include "core/tensor.h"

namespace tfjs_infer {

constexpr size_t kNoSlot = static_cast<size_t>(-1);

struct DeviceCopy {
  int value;
  bool to_device;  // else device -> host
};

struct DeviceStep {
  bool on_device = false;
  std::vector<DeviceCopy> copies_after;  // enqueued once the op ran
};

// Where model output j comes from at the end of a call.
struct OutputSource {
  enum Kind { kStagedOut, kHostArena, kCallerInput } kind = kStagedOut;
  size_t offset = 0;  // in the staging-out block, or the host arena
  int input = -1;     // kCallerInput: which model input
  size_t bytes = 0;
};

struct DevicePlan {
  std::vector<Shape> input_shapes;
  std::vector<ValueType> types;
  std::vector<size_t> dev_offset;       // per value, kNoSlot when never on the device
  std::vector<size_t> host_offset;      // per value, in the host arena; kNoSlot if none
  std::vector<size_t> input_offset;     // per model input: offset in the inputs block
  size_t in_bytes = 0;                  // the inputs block: device [0, in_bytes)
  size_t out_begin = 0, out_bytes = 0;  // the device-computed outputs block
  size_t dev_scratch_offset = 0, dev_bytes = 0;
  size_t host_scratch_offset = 0, host_bytes = 0;
  std::vector<DeviceStep> steps;  // per op
  std::vector<OutputSource> outputs;
};

// Lifetimes of blocks to pack: block b is written at step first[b] and read
// for the last time at step last[b]; returns each block's offset (first fit)
// and sets *total to the packed size.
std::vector<size_t> pack_by_liveness(const std::vector<size_t>& bytes,
                                     const std::vector<int>& first, const std::vector<int>& last,
                                     size_t* total);

// Plans a call for `types` (every value's type for these input shapes).
// on_device[i]: whether op i runs on the device; scratch sizes per op.
DevicePlan make_device_plan(const Graph& graph, const std::vector<Shape>& input_shapes,
                            const std::vector<ValueType>& types, const std::vector<bool>& on_device,
                            const std::vector<size_t>& op_scratch);

}  // namespace tfjs_infer
