"""C++ text shared by the bench scripts that compile the int8 kernel files
alone (int8_1x1_parts.py, int8_kernel_ab.py): what those files need from the
rest of the core, supplied without linking it."""

from __future__ import annotations

# The GEMM blocking the kernel reads (gemm_blocking()), set by the harness
# instead of derived by cpu_params.cpp.
GEMM_BLOCKING_GLOBAL = r"""#include "kernels/gemm_blocking.h"
namespace tfjs_infer {
static GemmBlocking g_blocking;
const GemmBlocking& gemm_blocking() { return g_blocking; }
}  // namespace tfjs_infer
"""

# Link stubs for what lowp_generic.cpp references and the int8 kernels never
# call: the float depthwise the generic bf16 depthwise runs, and (in the
# revisions from c802b32 to before GemmBlocking::bf16_half_panel, which
# --base may name) the bf16 half-panel switch's cpu_topology and is_amd_zen4.
LINK_STUBS = r"""#include "core/cpu_topology.h"
namespace tfjs_infer {  // link stubs: the bf16 half-panel switch and depthwise, unused here
const CpuTopology& cpu_topology() {
  static const CpuTopology t;
  return t;
}
bool is_amd_zen4(const CpuTopology&) { return false; }
namespace kernels::generic {
void depthwise_f32(const DepthwiseArgs&) {}
}  // namespace kernels::generic
}  // namespace tfjs_infer
"""


def with_stubs(source: str) -> str:
    """`source` with its GEMM_BLOCKING_GLOBAL and LINK_STUBS lines replaced
    by the text above."""
    return source.replace("GEMM_BLOCKING_GLOBAL\n", GEMM_BLOCKING_GLOBAL).replace(
        "LINK_STUBS\n", LINK_STUBS
    )
