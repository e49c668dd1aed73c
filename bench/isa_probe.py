"""Per-core throughput of vfmadd231ps, vdpbf16ps, vpdpbusd, tdpbusd and tdpbf16ps here.

    python bench/isa_probe.py [--rounds 7] [--cxx c++]

Compiles bench/isa_probe.cpp (a C++17 compiler whose assembler knows
AVX512-BF16, AVX-VNNI and AMX: GCC 11+ / binutils 2.36+) into a temporary folder and
runs it: for each instruction the CPU has, the median rate of 12 independent
accumulator chains (throughput, not latency, bounds it), timed by the thread's
CPU time, as instructions and multiply-accumulates per second, and the MAC rate
relative to the fp32 FMA. What bounds each precision's GEMM: bf16 pays only
where vdpbf16ps' MAC rate beats the FMA's, int8 where vpdpbusd's does.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import probe_main

if __name__ == "__main__":
    probe_main(__doc__, "isa_probe.cpp", 7)
