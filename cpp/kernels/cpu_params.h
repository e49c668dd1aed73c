// Kernel parameters derived from the CPU's caches (core/cpu_topology.h), with
// TFJS_INFER_* environment overrides for experiments. The derivation is a pure
// function of the decoded cpuid and the override values, tested on recorded
// cpuid outputs (tests/test_cpu_params.py).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/cpu_topology.h"
#include "kernels/gemm_blocking.h"

namespace tfjs_infer {

struct CpuParams {
  CpuTopology topology;                // as cpuid says, cache sizes replaced by any overrides
  GemmBlocking derived;                // from the caches
  GemmBlocking gemm;                   // derived, then the TFJS_INFER_GEMM_* overrides
  int64_t panel_group = 4;             // gemm_panel_group(): 2 on Intel and Zen 4, 4 elsewhere
  int64_t tile_rows = 6;               // gemm_tile_rows(): 6 (7 by override)
  int64_t lowp_slice_bytes = 0;        // bf16/int8 models: a call's arena per slice of samples
  int64_t int8_slice_bytes = 0;        // int8 models' (lowp_slice_bytes but on Zen 4)
  std::vector<std::string> overrides;  // "NAME=value" of every override applied
  std::vector<std::string> ignored;    // "NAME=value" of overrides that did not parse
};

// AMD family 0x19 (Zen 4; Zen 3 shares the family): the CPU whose measured
// choices differ from the cache-derived ones (here and in ops/conv_base.cpp).
bool is_amd_zen4(const CpuTopology& topology);

// The blocking for these caches. Where cpuid gave no sizes (non-x86) it
// assumes the Zen 5 core the kernels were first tuned on (48 KB L1D, 1 MB L2).
GemmBlocking derive_gemm_blocking(const CpuTopology& topology);

// Applies the overrides in `env` (variable name -> value) to the topology's
// caches (TFJS_INFER_L1D_BYTES, _L2_BYTES, _L3_BYTES), derives the blocking,
// then applies the blocking overrides (TFJS_INFER_GEMM_L2_BLOCK, _K_BLOCK,
// _ROW_CHUNK, _PREFETCH_ROWS), TFJS_INFER_GEMM_PANEL_GROUP (2 or 4) and
// TFJS_INFER_GEMM_TILE_ROWS (6 or 7); the bf16/int8 slice size follows the
// (possibly overridden) L3 (compile/model.cpp reads its own override at load).
// Values are integers >= 0 with an optional
// K, M or G suffix.
CpuParams derive_cpu_params(const CpuTopology& topology,
                            const std::map<std::string, std::string>& env);

// The variable names derive_cpu_params reads.
const std::vector<std::string>& cpu_param_variables();

// This machine's parameters, from cpuid and the process environment, read once.
const CpuParams& cpu_params();

// Replaces the blocking in effect (tests and benchmarks compare blockings in
// one process). Not synchronized with running GEMMs: call between them.
void set_gemm_blocking(const GemmBlocking& blocking);

}  // namespace tfjs_infer
