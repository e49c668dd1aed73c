// Fills one KernelTable per built ISA. Compiled with baseline flags: it only
// takes the addresses of the ISA functions, after the CPU check.
#include <cstdlib>
#include <string>

#include "core/cpu_features.h"
#include "core/errors.h"
#include "kernels/gemm_blocking.h"
#include "kernels/isa_kernels.h"
#include "kernels/kernels.h"
#include "kernels/lowp.h"

namespace tfjs_infer {

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kGeneric:
      return "generic";
    case Isa::kAvx2:
      return "avx2";
    case Isa::kAvx512:
      return "avx512";
    case Isa::kNeon:
      return "neon";
  }
  return "unknown";
}

namespace {

#ifdef TFJS_INFER_HAVE_AVX2
#define IF_AVX2(x) x,
#else
#define IF_AVX2(x)
#endif
#ifdef TFJS_INFER_HAVE_AVX512
#define IF_AVX512(x) x,
#else
#define IF_AVX512(x)
#endif

#define TFJS_INFER_FILL_TABLE(ns, isa_value)                     \
  [] {                                                           \
    KernelTable t;                                               \
    t.isa = isa_value;                                           \
    t.gemm_nr = kernels::ns::kGemmNr;                            \
    t.gemm_packed_b_size = &kernels::ns::gemm_packed_b_size;     \
    t.gemm_pack_b = &kernels::ns::gemm_pack_b;                   \
    t.gemm_f32 = &kernels::ns::gemm_f32;                         \
    t.im2col_f32 = &kernels::generic::im2col_f32;                \
    t.activation_f32 = &kernels::ns::activation_f32;             \
    t.softmax_f32 = &kernels::ns::softmax_f32;                   \
    t.pool_f32 = &kernels::ns::pool_f32;                         \
    t.depthwise_f32 = &kernels::ns::depthwise_f32;               \
    t.rnn_gates_f32 = &kernels::ns::rnn_gates_f32;               \
    t.rnn_gemv_packed_size = &kernels::ns::rnn_gemv_packed_size; \
    t.rnn_gemv_pack = &kernels::ns::rnn_gemv_pack;               \
    t.rnn_gemv_f32 = &kernels::ns::rnn_gemv_f32;                 \
    return t;                                                    \
  }()

#ifdef TFJS_INFER_HAVE_AVX512VNNI
// The AVX-512 table's int8 GEMM: on AMX tiles where lowp_int8_amx() says,
// else AVX512-VNNI. Read per call, so that a process can run both
// (tests/precision/test_int8_amx.py). Same bits.
void gemm_int8_avx512(const GemmArgs& g, const void* packed) {
#ifdef TFJS_INFER_HAVE_AMXINT8
  if (lowp_int8_amx()) {
    kernels::amxint8::gemm_int8(g, packed);
    return;
  }
#endif
  kernels::avx512vnni::gemm_int8(g, packed);
}
#endif

#ifdef TFJS_INFER_HAVE_AMXBF16
// The AVX-512 table's bf16 GEMM on a CPU with AMX-BF16: the tiles where
// lowp_bf16_amx() says (GemmBlocking::bf16_amx, read on every call, so tests
// and benchmarks switch it in one process), else vdpbf16ps.
void gemm_bf16_amx_or_avx512(const GemmArgs& g, const void* packed) {
  if (lowp_bf16_amx())
    kernels::amxbf16::gemm_bf16(g, packed);
  else
    kernels::avx512bf16::gemm_bf16(g, packed);
}
#endif

// The reduced-precision kernels an ISA's table gets on this CPU: the generic
// table has the scalar references; the SIMD tables only what the CPU runs.
void add_lowp(KernelTable& t, const CpuFeatures& cpu) {
  switch (t.isa) {
    case Isa::kGeneric:
      t.gemm_bf16 = &kernels::generic::gemm_bf16;
      t.depthwise_bf16 = &kernels::generic::depthwise_bf16;
      t.gemm_int8 = &kernels::generic::gemm_int8;
      t.int8_range = &kernels::generic::int8_range;
      t.int8_quantize = &kernels::generic::int8_quantize;
      break;
    case Isa::kAvx512:
#ifdef TFJS_INFER_HAVE_AVX512BF16
      if (cpu.avx512_bf16) {
        t.gemm_bf16 = &kernels::avx512bf16::gemm_bf16;
#ifdef TFJS_INFER_HAVE_AMXBF16
        if (cpu.amx_bf16) t.gemm_bf16 = &gemm_bf16_amx_or_avx512;
#endif
        t.depthwise_bf16 = &kernels::avx512bf16::depthwise_bf16;
        t.conv_direct_bf16 = &kernels::avx512bf16::conv_direct_bf16;
      }
#endif
#ifdef TFJS_INFER_HAVE_AVX512VNNI
      if (cpu.avx512_vnni) {
        t.gemm_int8 = &gemm_int8_avx512;
        t.int8_range = &kernels::avx512vnni::int8_range;
        t.int8_quantize = &kernels::avx512vnni::int8_quantize;
      }
#endif
      break;
    case Isa::kAvx2:
#ifdef TFJS_INFER_HAVE_AVXVNNI
      if (cpu.avx_vnni) {
        t.gemm_int8 = &kernels::avxvnni::gemm_int8;
        t.int8_range = &kernels::avxvnni::int8_range;
        t.int8_quantize = &kernels::avxvnni::int8_quantize;
      }
#endif
      break;
    default:
      break;
  }
  (void)cpu;
}

}  // namespace

// An override cannot ask for tiles that are not there: the CPU and the OS
// must grant them too.
bool lowp_int8_amx() {
#if defined(TFJS_INFER_HAVE_AMXINT8)
  return gemm_blocking().int8_amx > 0 && cpu_features().amx_int8;
#else
  return false;
#endif
}

namespace {

struct Tables {
  Tables() {
    const CpuFeatures& cpu = cpu_features();
    for (KernelTable* t : {&generic, IF_AVX2(&avx2) IF_AVX512(&avx512)}) add_lowp(*t, cpu);
  }
  KernelTable generic = TFJS_INFER_FILL_TABLE(generic, Isa::kGeneric);
#ifdef TFJS_INFER_HAVE_AVX2
  KernelTable avx2 = [] {
    KernelTable t = TFJS_INFER_FILL_TABLE(avx2, Isa::kAvx2);
    t.im2col_f32 = &kernels::avx2::im2col_f32;
    t.conv_pool_f32 = &kernels::avx2::conv_pool_f32;
    t.conv_direct_f32 = &kernels::avx2::conv_direct_f32;
    return t;
  }();
#endif
#ifdef TFJS_INFER_HAVE_AVX512
  KernelTable avx512 = [] {
    KernelTable t = TFJS_INFER_FILL_TABLE(avx512, Isa::kAvx512);
    t.im2col_f32 = &kernels::avx512::im2col_f32;
    t.conv_pool_f32 = &kernels::avx512::conv_pool_f32;
    t.conv_direct_f32 = &kernels::avx512::conv_direct_f32;
    return t;
  }();
#endif
#ifdef TFJS_INFER_HAVE_NEON
  KernelTable neon = TFJS_INFER_FILL_TABLE(neon, Isa::kNeon);
#endif
};

const Tables& tables() {
  static const Tables t;
  return t;
}

Isa parse_isa(const std::string& name) {
  if (name == "generic") return Isa::kGeneric;
  if (name == "avx2") return Isa::kAvx2;
  if (name == "avx512") return Isa::kAvx512;
  if (name == "neon") return Isa::kNeon;
  fail(ErrorKind::kDeviceUnavailable,
       "unknown ISA '" + name + "': expected one of generic, avx2, avx512, neon");
}

}  // namespace

const KernelTable* kernels_for(Isa isa) {
  const CpuFeatures& cpu = cpu_features();
  switch (isa) {
    case Isa::kGeneric:
      return &tables().generic;
    case Isa::kAvx2:
#ifdef TFJS_INFER_HAVE_AVX2
      if (cpu.avx2_fma) return &tables().avx2;
#endif
      return nullptr;
    case Isa::kAvx512:
#ifdef TFJS_INFER_HAVE_AVX512
      if (cpu.avx512) return &tables().avx512;
#endif
      return nullptr;
    case Isa::kNeon:
#ifdef TFJS_INFER_HAVE_NEON
      if (cpu.neon) return &tables().neon;
#endif
      return nullptr;
  }
  (void)cpu;
  return nullptr;
}

std::vector<Isa> available_isas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::kGeneric, Isa::kAvx2, Isa::kAvx512, Isa::kNeon})
    if (kernels_for(isa)) out.push_back(isa);
  return out;
}

const KernelTable& kernels_by_name(const std::string& name) {
  if (name.empty()) return best_kernels();
  const Isa isa = parse_isa(name);
  const KernelTable* table = kernels_for(isa);
  if (!table) {
    std::string have;
    for (Isa a : available_isas()) have += std::string(have.empty() ? "" : ", ") + isa_name(a);
    fail(ErrorKind::kDeviceUnavailable,
         "ISA '" + name + "' is not available on this CPU or build; available: " + have);
  }
  return *table;
}

const KernelTable& best_kernels() {
  const char* forced = std::getenv("TFJS_INFER_ISA");
  if (forced && *forced) return kernels_by_name(forced);
  for (Isa isa : {Isa::kAvx512, Isa::kAvx2, Isa::kNeon})
    if (const KernelTable* t = kernels_for(isa)) return *t;
  return tables().generic;
}

}  // namespace tfjs_infer
