"""A bf16 depthwise on vdpbf16ps pairs of taps against bf16 mode's depthwise.

    python bench/dw_pairs_probe.py [--rounds 9] [--cxx c++]

Compiles bench/dw_pairs_probe.cpp (a C++17 compiler whose assembler knows
AVX512-BF16: GCC 11+ / binutils 2.36+; the CPU must have AVX512-BF16) into a
temporary folder and runs it. First the instruction mixes of 2 outputs x 32
channels of a 3x3 stride-1 layer (the float kernel's 36 FMAs against 24
vdpbf16ps, with and without the conversions that pair the taps and each
kernel's epilogue), then
MobileNetV2's 3x3 depthwise layers alone: the probe kernel (two horizontal
taps of one channel in one 32-bit lane) against x86/depthwise_avx512bf16.cpp
(FMA arithmetic, bf16 stores), thread CPU time, medians, interleaved.
Issue 15gb measured it and did not put it in the library (README, 15gb).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import probe_main

FLAGS = ("-mavx512f", "-mavx512bw", "-mavx512dq", "-mavx512vl", "-mavx2", "-mfma", "-mavx512bf16")


if __name__ == "__main__":
    probe_main(__doc__, "dw_pairs_probe.cpp", 9, FLAGS)
