// The CPU's identity, caches and the kernel parameters derived from them, as
// Python dicts: build_info()["cpu"] and the _testing hooks that run the
// derivation on recorded cpuid leaves.
#pragma once

#include <pybind11/pybind11.h>

namespace tfjs_infer {

// This machine's CPU, caches and chosen parameters (for build_info()).
pybind11::dict cpu_info();

// _testing.decode_cpuid, _testing.derive_cpu_params, _testing.gemm_blocking,
// _testing.set_gemm_blocking.
void register_cpu_testing(pybind11::module_& testing);

}  // namespace tfjs_infer
