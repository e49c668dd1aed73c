"""The AVX512-BF16 GEMM with its A words read as vdpbf16ps's embedded
broadcast (x86/gemm_bf16_avx512bf16.cpp Bf16Mem; GemmBlocking::
bf16_mem_broadcast, on by default on Zen 4) against the register broadcast.
TFJS_INFER_BF16_MEM_BROADCAST is read once per process, so each setting runs
in a fresh interpreter: there the kernel is checked bit for bit against the
numpy model (lowp_model.py) on the half-panel test's cases (every tile
height's remainder, 1 to 4 panels, a last panel of at most 8 columns with and
without the 256-bit half panel, k blocks, column ranges, every epilogue
kind), odd k, and a fused MobileNet block (bf16 A stored by the depthwise and
read in place) at 1 and 2 threads; and against the other setting."""

from __future__ import annotations

import os

import pytest
from test_bf16_half_panel import CHILD as HALF_PANEL_CHILD

from child_process import run_json_child
from tfjs_infer import _core

# The AVX512-BF16 kernels, bit for bit: AMX off where the CPU has it (conftest.py).
pytestmark = pytest.mark.usefixtures("bf16_without_amx")

HAS_SIMD_BF16 = "avx512" in _core._testing.lowp_isas("bf16")

BLOCK_CHILD = r"""
import hashlib
sys.path.insert(0, sys.argv[1] + "/precision")
from test_conv_chain_bf16 import BLOCKS, block_graph, feeds
out["blocks"] = []
for block in BLOCKS:
    for threads in (1, 2):
        rng = np.random.default_rng(block[3])
        g, _ = block_graph(rng, block)
        x = feeds(rng, block, 2)
        model = _core.CompiledModel(g, isa="avx512", num_threads=threads, precision="bf16")
        y = model.run(x)[0]
        out["blocks"].append(hashlib.sha1(y.tobytes()).hexdigest())
print(json.dumps(out))
"""

CHILD = HALF_PANEL_CHILD.replace("print(json.dumps(out))\n", BLOCK_CHILD)


@pytest.mark.skipif(not HAS_SIMD_BF16, reason="no AVX512-BF16 kernel on this CPU")
@pytest.mark.parametrize("half_panel", ["0", "1"])
def test_memory_broadcast_matches_numpy_model_and_the_register_broadcast(half_panel: str) -> None:
    runs = {}
    for setting in ("1", "0"):
        env = dict(
            os.environ,
            TFJS_INFER_BF16_MEM_BROADCAST=setting,
            TFJS_INFER_BF16_HALF_PANEL=half_panel,
        )
        runs[setting] = run_json_child(CHILD, env)
        assert runs[setting]["mismatch"] == []
    assert runs["1"]["digest"] == runs["0"]["digest"]
    assert runs["1"]["blocks"] == runs["0"]["blocks"]
    blocks = runs["1"]["blocks"]
    assert blocks[0::2] == blocks[1::2]  # 1 and 2 threads: the same bits
    assert len(set(blocks)) == len(blocks) // 2  # the blocks differ
