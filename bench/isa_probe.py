"""Per-core throughput of vfmadd231ps, vdpbf16ps and vpdpbusd on this CPU.

    python bench/isa_probe.py [--rounds 7] [--cxx c++]

Compiles bench/isa_probe.cpp (a C++17 compiler whose assembler knows
AVX512-BF16 and AVX-VNNI: GCC 11+ / binutils 2.36+) into a temporary folder and
runs it: for each instruction the CPU has, the median rate of 12 independent
accumulator chains (throughput, not latency, bounds it), timed by the thread's
CPU time, as instructions and multiply-accumulates per second, and the MAC rate
relative to the fp32 FMA. What bounds each precision's GEMM: bf16 pays only
where vdpbf16ps' MAC rate beats the FMA's, int8 where vpdpbusd's does.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--cxx", default=os.environ.get("CXX", "c++"))
    args = parser.parse_args()
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(f"{cpu_line()}; load average at start: {os.getloadavg()}")
    if not shutil.which(args.cxx):
        sys.exit(f"no C++ compiler '{args.cxx}' (set --cxx or CXX)")
    with tempfile.TemporaryDirectory() as tmp:
        exe = Path(tmp) / "isa_probe"
        build = [args.cxx, "-O2", "-std=c++17", str(HERE / "isa_probe.cpp"), "-o", str(exe)]
        print("build: " + " ".join(build))
        subprocess.run(build, check=True, timeout=300)
        subprocess.run([str(exe), str(args.rounds)], check=True, timeout=600)
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
