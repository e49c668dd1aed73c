// What the CPU says about itself through cpuid: identity, cache sizes and
// topology. The decoding is a pure function of recorded leaf values, so the
// tests check it on the cpuid outputs of several CPUs (tests/fixtures/cpuid).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tfjs_infer {

// One cpuid result: the leaf (EAX in), the subleaf (ECX in) and the registers out.
struct CpuidLeaf {
  uint32_t leaf = 0, subleaf = 0;
  uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
};

// Sizes in bytes; 0 where cpuid does not say (non-x86, old or odd CPUs).
struct CpuTopology {
  std::string vendor;  // "GenuineIntel", "AuthenticAMD", ...
  std::string model;   // the brand string, trimmed
  int family = 0, model_id = 0;
  int64_t l1d_bytes = 0, l2_bytes = 0, l3_bytes = 0;
  // Logical processors that share each cache (cpuid's "maximum addressable
  // IDs", a power of two on most parts); 0 when unknown.
  int l1d_shared_by = 0, l2_shared_by = 0, l3_shared_by = 0;
  int threads_per_core = 0;  // SMT width from the topology leaf (0xB / 0x1F)
  // APIC IDs reserved per core (a power of two, 2 on a part without SMT in a
  // family with it): the unit of the caches' "addressable IDs" counts.
  int smt_ids = 0;
  int logical_processors = 0;  // in the package, from the topology leaf
  std::string cache_leaf;      // where the sizes came from: "4", "0x8000001d", "legacy", ""

  // The L2 of one core: the reported size divided among the cores that share
  // it (Intel E-core clusters share one L2 among four cores).
  int64_t l2_per_core() const;
};

// Decodes recorded leaves; a leaf that is not in the list reads as zeros.
CpuTopology decode_cpuid(const std::vector<CpuidLeaf>& leaves);

// The leaves decode_cpuid reads, from this machine's cpuid (empty off x86).
std::vector<CpuidLeaf> read_cpuid_leaves();

// This machine's topology, read once.
const CpuTopology& cpu_topology();

}  // namespace tfjs_infer
