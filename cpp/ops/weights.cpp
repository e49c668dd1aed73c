#include "ops/weights.h"

#include <algorithm>

namespace tfjs_infer {

void copy_bias(const OpNode& node, const char* key, int64_t n, Buffer<float>& dst) {
  if (const WeightTensor* b = node.weight(key)) {
    node.require_weight(key, {n});
    dst.reset(static_cast<size_t>(n));
    std::copy(b->f32.begin(), b->f32.end(), dst.data());
  }
}

}  // namespace tfjs_infer
