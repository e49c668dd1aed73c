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

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import cpu_line

HERE = Path(__file__).resolve().parent
FLAGS = ["-mavx512f", "-mavx512bw", "-mavx512dq", "-mavx512vl", "-mavx2", "-mfma", "-mavx512bf16"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--cxx", default=os.environ.get("CXX", "c++"))
    args = parser.parse_args()
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(f"{cpu_line()}; load average at start: {os.getloadavg()}")
    if not shutil.which(args.cxx):
        sys.exit(f"no C++ compiler '{args.cxx}' (set --cxx or CXX)")
    with tempfile.TemporaryDirectory() as tmp:
        exe = Path(tmp) / "dw_pairs_probe"
        src = HERE / "dw_pairs_probe.cpp"
        build = [args.cxx, "-O2", "-std=c++17", *FLAGS, f"-I{HERE.parent / 'cpp'}", str(src)]
        build += ["-o", str(exe)]
        print("build: " + " ".join(build))
        subprocess.run(build, check=True, timeout=300)
        subprocess.run([str(exe), str(args.rounds)], check=True, timeout=600)
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
