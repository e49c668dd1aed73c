#include "bindings/cpu_info.h"

#include <pybind11/stl.h>

#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/cpu_params.h"
#include "ops/conv_base.h"

namespace py = pybind11;

namespace tfjs_infer {

namespace {

py::dict topology_dict(const CpuTopology& t) {
  py::dict d;
  d["vendor"] = t.vendor;
  d["model"] = t.model;
  d["family"] = t.family;
  d["model_id"] = t.model_id;
  d["l1d_bytes"] = t.l1d_bytes;
  d["l2_bytes"] = t.l2_bytes;
  d["l2_per_core_bytes"] = t.l2_per_core();
  d["l3_bytes"] = t.l3_bytes;
  d["l1d_shared_by"] = t.l1d_shared_by;
  d["l2_shared_by"] = t.l2_shared_by;
  d["l3_shared_by"] = t.l3_shared_by;
  d["threads_per_core"] = t.threads_per_core;
  d["smt_ids"] = t.smt_ids;
  d["logical_processors"] = t.logical_processors;
  d["cache_leaf"] = t.cache_leaf;
  return d;
}

py::dict blocking_dict(const GemmBlocking& b) {
  py::dict d;
  d["l2_block_bytes"] = b.l2_block_bytes;
  d["k_block"] = b.k_block;
  d["row_chunk"] = b.row_chunk;
  d["prefetch_rows"] = b.prefetch_rows;
  d["next_prefetch"] = b.next_prefetch;
  d["l1_block_bytes"] = b.l1_block_bytes;
  d["gemv_prefetch_rows"] = b.gemv_prefetch_rows;
  d["res_prefetch"] = b.res_prefetch;
  d["int8_k_block_words"] = b.int8_k_block_words;
  d["int8_amx"] = b.int8_amx;
  d["int8_huge_page_bytes"] = b.int8_huge_page_bytes;
  d["f32_huge_page_bytes"] = b.f32_huge_page_bytes;
  d["bf16_huge_page_bytes"] = b.bf16_huge_page_bytes;
  d["narrow_tail"] = b.narrow_tail;
  d["bf16_half_panel"] = b.bf16_half_panel;
  d["bf16_mem_broadcast"] = b.bf16_mem_broadcast;
  d["bf16_amx"] = b.bf16_amx;
  d["fixed_k"] = b.fixed_k;
  return d;
}

py::dict params_dict(const CpuParams& p, const GemmBlocking& in_effect) {
  py::dict d = topology_dict(p.topology);
  d["gemm_derived"] = blocking_dict(p.derived);
  d["gemm"] = blocking_dict(in_effect);
  d["gemm_panel_group"] = p.panel_group;
  d["gemm_tile_rows"] = p.tile_rows;
  d["lowp_slice_bytes"] = p.lowp_slice_bytes;
  d["int8_slice_bytes"] = p.int8_slice_bytes;
  d["overrides"] = p.overrides;
  d["overrides_ignored"] = p.ignored;
  return d;
}

using LeafTuple = std::tuple<uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t>;

std::vector<CpuidLeaf> to_leaves(const std::vector<LeafTuple>& rows) {
  std::vector<CpuidLeaf> out;
  for (const LeafTuple& r : rows) {
    CpuidLeaf l;
    std::tie(l.leaf, l.subleaf, l.eax, l.ebx, l.ecx, l.edx) = r;
    out.push_back(l);
  }
  return out;
}

}  // namespace

py::dict cpu_info() {
  py::dict d = params_dict(cpu_params(), gemm_blocking());
  d["gemm_tile_rows"] = gemm_tile_rows();  // as set_gemm_tile_rows left it
  return d;
}

void register_cpu_testing(py::module_& t) {
  t.def(
      "cpuid_leaves",
      [] {
        std::vector<LeafTuple> out;
        for (const CpuidLeaf& l : read_cpuid_leaves())
          out.emplace_back(l.leaf, l.subleaf, l.eax, l.ebx, l.ecx, l.edx);
        return out;
      },
      "This machine's cpuid leaves as (leaf, subleaf, eax, ebx, ecx, edx).");
  t.def(
      "derive_cpu_params",
      [](const std::vector<LeafTuple>& leaves, const std::map<std::string, std::string>& env) {
        const CpuParams p = derive_cpu_params(decode_cpuid(to_leaves(leaves)), env);
        return params_dict(p, p.gemm);
      },
      py::arg("leaves"), py::arg("env") = std::map<std::string, std::string>{},
      "Decodes recorded cpuid leaves and derives the kernel parameters, with TFJS_INFER_* "
      "overrides from `env`.");
  t.def(
      "conv_min_implicit_segment",
      [](const std::vector<LeafTuple>& leaves, const std::string& isa) {
        const std::map<std::string, Isa> isas = {{"generic", Isa::kGeneric},
                                                 {"avx2", Isa::kAvx2},
                                                 {"avx512", Isa::kAvx512},
                                                 {"neon", Isa::kNeon}};
        const auto it = isas.find(isa);
        if (it == isas.end()) throw py::value_error("unknown isa '" + isa + "'");
        return min_implicit_segment(it->second, decode_cpuid(to_leaves(leaves)));
      },
      py::arg("leaves"), py::arg("isa"),
      "The shortest kernel row (kw x cin floats) a convolution reads in place on table `isa` "
      "of the CPU whose cpuid leaves these are (ops/conv_base.h).");
  t.def(
      "set_gemm_blocking",
      [](int64_t l2_block_bytes, int64_t k_block, int64_t row_chunk, int64_t prefetch_rows,
         int64_t next_prefetch, int64_t l1_block_bytes, int64_t gemv_prefetch_rows,
         int64_t res_prefetch, int64_t int8_k_block_words, int64_t narrow_tail,
         int64_t bf16_half_panel, int64_t bf16_mem_broadcast, int64_t int8_huge_page_bytes,
         int64_t fixed_k, int64_t f32_huge_page_bytes, int64_t bf16_huge_page_bytes,
         int64_t int8_amx, int64_t bf16_amx) {
        const GemmBlocking previous = gemm_blocking();
        GemmBlocking b;
        b.l2_block_bytes = l2_block_bytes;
        b.k_block = k_block;
        b.row_chunk = row_chunk;
        b.prefetch_rows = prefetch_rows;
        b.next_prefetch = next_prefetch >= 0 ? next_prefetch : cpu_params().gemm.next_prefetch;
        b.l1_block_bytes = l1_block_bytes >= 0 ? l1_block_bytes : cpu_params().gemm.l1_block_bytes;
        b.gemv_prefetch_rows =
            gemv_prefetch_rows >= 0 ? gemv_prefetch_rows : cpu_params().gemm.gemv_prefetch_rows;
        b.res_prefetch = res_prefetch >= 0 ? res_prefetch : cpu_params().gemm.res_prefetch;
        b.int8_k_block_words =
            int8_k_block_words >= 0 ? int8_k_block_words : cpu_params().gemm.int8_k_block_words;
        b.int8_amx = int8_amx >= 0 ? int8_amx : cpu_params().gemm.int8_amx;
        b.narrow_tail = narrow_tail >= 0 ? narrow_tail : cpu_params().gemm.narrow_tail;
        b.bf16_half_panel =
            bf16_half_panel >= 0 ? bf16_half_panel : cpu_params().gemm.bf16_half_panel;
        b.bf16_mem_broadcast =
            bf16_mem_broadcast >= 0 ? bf16_mem_broadcast : cpu_params().gemm.bf16_mem_broadcast;
        b.int8_huge_page_bytes = int8_huge_page_bytes >= 0 ? int8_huge_page_bytes
                                                           : cpu_params().gemm.int8_huge_page_bytes;
        b.fixed_k = fixed_k >= 0 ? fixed_k : cpu_params().gemm.fixed_k;
        b.f32_huge_page_bytes =
            f32_huge_page_bytes >= 0 ? f32_huge_page_bytes : cpu_params().gemm.f32_huge_page_bytes;
        b.bf16_huge_page_bytes = bf16_huge_page_bytes >= 0 ? bf16_huge_page_bytes
                                                           : cpu_params().gemm.bf16_huge_page_bytes;
        b.bf16_amx = bf16_amx >= 0 ? bf16_amx : cpu_params().gemm.bf16_amx;
        set_gemm_blocking(b);
        return blocking_dict(previous);
      },
      py::arg("l2_block_bytes"), py::arg("k_block"), py::arg("row_chunk"),
      py::arg("prefetch_rows") = 0, py::arg("next_prefetch") = -1, py::arg("l1_block_bytes") = -1,
      py::arg("gemv_prefetch_rows") = -1, py::arg("res_prefetch") = -1,
      py::arg("int8_k_block_words") = -1, py::arg("narrow_tail") = -1,
      py::arg("bf16_half_panel") = -1, py::arg("bf16_mem_broadcast") = -1,
      py::arg("int8_huge_page_bytes") = -1, py::arg("fixed_k") = -1,
      py::arg("f32_huge_page_bytes") = -1, py::arg("bf16_huge_page_bytes") = -1,
      py::arg("int8_amx") = -1, py::arg("bf16_amx") = -1,
      "Replaces the GEMM blocking in effect (between runs only); returns the previous one. "
      "next_prefetch, l1_block_bytes, gemv_prefetch_rows, res_prefetch, int8_k_block_words "
      "narrow_tail, bf16_half_panel, bf16_mem_broadcast, int8_huge_page_bytes, fixed_k and "
      "f32_huge_page_bytes, bf16_huge_page_bytes, int8_amx, bf16_amx: -1 "
      "keeps this CPU's (derived, overridden) values.");
  t.def(
      "set_gemm_tile_rows",
      [](int64_t rows) {
        if (rows != 6 && rows != 7) throw py::value_error("tile rows must be 6 or 7");
        const int64_t previous = gemm_tile_rows();
        set_gemm_tile_rows(rows);
        return previous;
      },
      py::arg("rows"),
      "Sets the AVX-512 GEMM's tile rows (6 or 7; between runs only); returns the previous.");
}

}  // namespace tfjs_infer
