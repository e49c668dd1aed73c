#include "ops/weights.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace tfjs_infer {

void pack_kernel(const KernelTable& k, const WeightTensor& w, int64_t rows, int64_t w_cols,
                 int64_t col0, int64_t cols, float* packed) {
  const float* src = w.f32.data();
  std::vector<float> block;
  if (col0 != 0 || cols != w_cols) {  // a column slice (a conv group): gather it
    block.resize(static_cast<size_t>(rows * cols));
    for (int64_t r = 0; r < rows; ++r)
      std::memcpy(&block[static_cast<size_t>(r * cols)], src + r * w_cols + col0,
                  static_cast<size_t>(cols) * sizeof(float));
    src = block.data();
  }
  k.gemm_pack_b(src, rows, cols, w.scale.empty() ? nullptr : w.scale.data() + col0, packed);
}

void copy_bias(const OpNode& node, const char* key, int64_t n, Buffer<float>& dst) {
  if (const WeightTensor* b = node.weight(key)) {
    node.require_weight(key, {n});
    dst.reset(static_cast<size_t>(n));
    std::copy(b->f32.begin(), b->f32.end(), dst.data());
  }
}

}  // namespace tfjs_infer
