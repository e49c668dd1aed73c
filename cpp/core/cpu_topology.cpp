#include "core/cpu_topology.h"

#include <cstring>
#include <map>
#include <utility>

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#include <cpuid.h>
#define TFJS_INFER_HAVE_CPUID 1
#endif

namespace tfjs_infer {

namespace {

constexpr uint32_t kExt = 0x80000000u;
constexpr uint32_t kAmdCacheLeaf = 0x8000001Du;
// Deterministic cache parameters and extended topology list their levels in
// subleaves until an empty one; no CPU has more than a handful.
constexpr uint32_t kMaxSubleaves = 16;

class Leaves {
 public:
  explicit Leaves(const std::vector<CpuidLeaf>& leaves) {
    for (const CpuidLeaf& l : leaves) map_[{l.leaf, l.subleaf}] = l;
  }
  CpuidLeaf get(uint32_t leaf, uint32_t subleaf = 0) const {
    auto it = map_.find({leaf, subleaf});
    if (it != map_.end()) return it->second;
    CpuidLeaf zero;
    zero.leaf = leaf;
    zero.subleaf = subleaf;
    return zero;
  }
  uint32_t max_basic() const { return get(0).eax; }
  uint32_t max_ext() const {
    const uint32_t m = get(kExt).eax;
    return m >= kExt ? m : 0;
  }

 private:
  std::map<std::pair<uint32_t, uint32_t>, CpuidLeaf> map_;
};

std::string regs_text(std::initializer_list<uint32_t> regs) {
  std::string s;
  for (uint32_t r : regs) {
    char bytes[4];
    std::memcpy(bytes, &r, 4);
    s.append(bytes, 4);
  }
  return s;
}

std::string trimmed(const std::string& s) {
  const std::string text = s.substr(0, s.find('\0'));
  const size_t first = text.find_first_not_of(' ');
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(' ') - first + 1);
}

void decode_identity(const Leaves& q, CpuTopology& t) {
  const CpuidLeaf l0 = q.get(0);
  t.vendor = trimmed(regs_text({l0.ebx, l0.edx, l0.ecx}));
  const uint32_t sig = q.get(1).eax;
  const int base_family = static_cast<int>((sig >> 8) & 0xF);
  t.family = base_family + (base_family == 0xF ? static_cast<int>((sig >> 20) & 0xFF) : 0);
  t.model_id = static_cast<int>((sig >> 4) & 0xF);
  if (base_family == 0x6 || base_family == 0xF)
    t.model_id |= static_cast<int>((sig >> 16) & 0xF) << 4;
  if (q.max_ext() >= kExt + 4) {
    std::string brand;
    for (uint32_t leaf = kExt + 2; leaf <= kExt + 4; ++leaf) {
      const CpuidLeaf l = q.get(leaf);
      brand += regs_text({l.eax, l.ebx, l.ecx, l.edx});
    }
    t.model = trimmed(brand);
  }
}

// Leaf 4 (Intel) and 0x8000001D (AMD) share one layout: EAX[4:0] type
// (1 data, 2 instruction, 3 unified), EAX[7:5] level, EAX[25:14] sharing - 1;
// EBX ways - 1 [31:22], partitions - 1 [21:12], line - 1 [11:0]; ECX sets - 1.
bool decode_cache_leaf(const Leaves& q, uint32_t leaf, CpuTopology& t) {
  bool any = false;
  for (uint32_t sub = 0; sub < kMaxSubleaves; ++sub) {
    const CpuidLeaf l = q.get(leaf, sub);
    const uint32_t type = l.eax & 0x1F;
    if (type == 0) break;
    if (type == 2) continue;  // instruction cache
    const int level = static_cast<int>((l.eax >> 5) & 0x7);
    const int shared = static_cast<int>((l.eax >> 14) & 0xFFF) + 1;
    const int64_t ways = (l.ebx >> 22) + 1;
    const int64_t parts = ((l.ebx >> 12) & 0x3FF) + 1;
    const int64_t line = (l.ebx & 0xFFF) + 1;
    const int64_t sets = static_cast<int64_t>(l.ecx) + 1;
    const int64_t bytes = ways * parts * line * sets;
    if (level == 1) {
      t.l1d_bytes = bytes;
      t.l1d_shared_by = shared;
    } else if (level == 2) {
      t.l2_bytes = bytes;
      t.l2_shared_by = shared;
    } else if (level == 3) {
      t.l3_bytes = bytes;
      t.l3_shared_by = shared;
    }
    any = true;
  }
  return any;
}

// AMD's legacy leaves, for parts without 0x8000001D: 0x80000005 ECX[31:24]
// L1D KB; 0x80000006 ECX[31:16] L2 KB, EDX[31:18] L3 in 512 KB units.
void decode_legacy_amd(const Leaves& q, CpuTopology& t) {
  if (q.max_ext() >= kExt + 5) t.l1d_bytes = static_cast<int64_t>(q.get(kExt + 5).ecx >> 24) << 10;
  if (q.max_ext() >= kExt + 6) {
    const CpuidLeaf l = q.get(kExt + 6);
    t.l2_bytes = static_cast<int64_t>(l.ecx >> 16) << 10;
    t.l3_bytes = static_cast<int64_t>(l.edx >> 18) * (512 << 10);
  }
  t.cache_leaf = "legacy";
}

void decode_caches(const Leaves& q, CpuTopology& t) {
  const bool amd = t.vendor == "AuthenticAMD" || t.vendor == "HygonGenuine";
  if (amd && q.max_ext() >= kAmdCacheLeaf && decode_cache_leaf(q, kAmdCacheLeaf, t)) {
    t.cache_leaf = "0x8000001d";
  } else if (!amd && q.max_basic() >= 4 && decode_cache_leaf(q, 4, t)) {
    t.cache_leaf = "4";
  } else if (amd) {
    decode_legacy_amd(q, t);
  }
}

// Extended topology (0x1F where present, else 0xB): ECX[15:8] level type
// (1 SMT, 2 core, ...), EBX[15:0] logical processors at this level and below.
void decode_topology(const Leaves& q, CpuTopology& t) {
  uint32_t leaf = 0;
  if (q.max_basic() >= 0x1F && q.get(0x1F).ebx != 0) {
    leaf = 0x1F;
  } else if (q.max_basic() >= 0xB && q.get(0xB).ebx != 0) {
    leaf = 0xB;
  } else {
    return;
  }
  for (uint32_t sub = 0; sub < kMaxSubleaves; ++sub) {
    const CpuidLeaf l = q.get(leaf, sub);
    const uint32_t type = (l.ecx >> 8) & 0xFF;
    const int count = static_cast<int>(l.ebx & 0xFFFF);
    if (type == 0) break;
    if (type == 1) {
      t.threads_per_core = count;
      t.smt_ids = 1 << (l.eax & 0x1F);
    }
    if (count > 0) t.logical_processors = count;
  }
}

}  // namespace

int64_t CpuTopology::l2_per_core() const {
  if (l2_bytes <= 0) return 0;
  // l2_shared_by counts APIC IDs, as smt_ids does: the i5-6600K (no SMT)
  // reports 2 for its private L2 and 2 SMT IDs per core.
  const int ids = smt_ids > 0 ? smt_ids : (threads_per_core > 0 ? threads_per_core : 1);
  const int cores = l2_shared_by > ids ? l2_shared_by / ids : 1;
  return l2_bytes / cores;
}

CpuTopology decode_cpuid(const std::vector<CpuidLeaf>& leaves) {
  const Leaves q(leaves);
  CpuTopology t;
  if (leaves.empty()) return t;
  decode_identity(q, t);
  decode_caches(q, t);
  decode_topology(q, t);
  return t;
}

std::vector<CpuidLeaf> read_cpuid_leaves() {
  std::vector<CpuidLeaf> out;
#ifdef TFJS_INFER_HAVE_CPUID
  auto read = [&out](uint32_t leaf, uint32_t sub) {
    CpuidLeaf l;
    l.leaf = leaf;
    l.subleaf = sub;
    __cpuid_count(leaf, sub, l.eax, l.ebx, l.ecx, l.edx);
    out.push_back(l);
    return l;
  };
  const uint32_t max_basic = read(0, 0).eax;
  if (max_basic >= 1) read(1, 0);
  for (uint32_t leaf : {4u, 0xBu, 0x1Fu}) {
    if (max_basic < leaf) continue;
    for (uint32_t sub = 0; sub < kMaxSubleaves; ++sub) {
      const CpuidLeaf l = read(leaf, sub);
      if (leaf == 4 ? (l.eax & 0x1F) == 0 : ((l.ecx >> 8) & 0xFF) == 0) break;
    }
  }
  const uint32_t max_ext = read(kExt, 0).eax;
  for (uint32_t leaf = kExt + 1; leaf <= kExt + 6 && leaf <= max_ext; ++leaf) read(leaf, 0);
  if (max_ext >= kAmdCacheLeaf) {
    for (uint32_t sub = 0; sub < kMaxSubleaves; ++sub)
      if ((read(kAmdCacheLeaf, sub).eax & 0x1F) == 0) break;
  }
#endif
  return out;
}

const CpuTopology& cpu_topology() {
  static const CpuTopology topology = decode_cpuid(read_cpuid_leaves());
  return topology;
}

}  // namespace tfjs_infer
