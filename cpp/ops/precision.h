// The precision of a dense or convolution op's matrix product (load_model's
// precision="fp32" | "bf16" | "int8"); PackedMatrix (gemm_driver.h) packs
// B for it and gemm_run calls the matching kernel (kernels/lowp.h).
#pragma once

#include <cstdint>
#include <string>

#include "core/graph.h"
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

}  // namespace tfjs_infer
