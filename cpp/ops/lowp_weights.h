// Reduced-precision weights of a dense or convolution op (load_model's
// precision="bf16" | "int8"): the precision an op runs in, its B packed for
// the low-precision GEMM (kernels/lowp.h), and the call that picks the GEMM.
#pragma once

#include <cstdint>
#include <string>

#include "core/graph.h"
#include "core/tensor.h"
#include "kernels/kernels.h"

namespace tfjs_infer {

enum class Precision : int32_t { kFp32 = 0, kBf16, kInt8 };

const char* precision_name(Precision p);
// "fp32" | "bf16" | "int8"; throws Error(kInvalidArgument) on anything else.
Precision parse_precision(const std::string& name);
// Whether table k runs GEMMs in precision p (fp32 always).
bool precision_supported(const KernelTable& k, Precision p);
// The precision node runs in when `requested`: fp32 unless it is a dense or
// forward convolution whose GEMM table k runs in `requested` (int8: also its
// reduction length within kInt8MaxK). Written to the node's "precision" attr
// by the compiler; ops read it back with node_precision().
Precision op_precision(const OpNode& node, const KernelTable& k, Precision requested);
Precision node_precision(const OpNode& node);

class LowpWeights {
 public:
  // Packs B = columns [col0, col0 + cols) of w viewed as (rows, w_cols), with
  // w's pending BatchNorm scale applied, for precision p (not fp32).
  void pack(Precision p, const WeightTensor& w, int64_t rows, int64_t w_cols, int64_t col0,
            int64_t cols);
  bool active() const { return precision_ != Precision::kFp32; }
  // g.packed_b is ignored: B is this object's.
  void gemm(const KernelTable& k, const GemmArgs& g) const {
    (precision_ == Precision::kInt8 ? k.gemm_int8 : k.gemm_bf16)(g, data_.data());
  }

 private:
  Precision precision_ = Precision::kFp32;
  Buffer<uint8_t> data_;
};

// g through lw's low-precision GEMM when lw is active, else the float GEMM.
inline void run_gemm(const KernelTable& k, const GemmArgs& g, const LowpWeights* lw) {
  if (lw && lw->active()) {
    lw->gemm(k, g);
  } else {
    k.gemm_f32(g);
  }
}

}  // namespace tfjs_infer
