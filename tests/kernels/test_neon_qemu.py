"""NEON kernels checked against the generic ones under qemu-aarch64.

x86 machines cannot run the NEON table, so this cross-compiles
kernel_check.cpp with the NEON and generic kernel sources and runs it under
user-mode qemu. Skipped unless aarch64-linux-gnu-g++ and qemu-aarch64(-static)
are installed (Debian: apt-get install g++-aarch64-linux-gnu qemu-user-static).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CXX = shutil.which("aarch64-linux-gnu-g++")
QEMU = shutil.which("qemu-aarch64-static") or shutil.which("qemu-aarch64")


@pytest.mark.skipif(not (CXX and QEMU), reason="needs aarch64-linux-gnu-g++ and qemu-aarch64")
def test_neon_kernels_match_generic_under_qemu(tmp_path):
    cpp = ROOT / "cpp"
    sources = [
        Path(__file__).with_name("kernel_check.cpp"),
        *sorted((cpp / "kernels" / "generic").glob("*.cpp")),
        *sorted((cpp / "kernels" / "arm").glob("*_neon.cpp")),
    ]
    exe = tmp_path / "kernel_check_neon"
    flags = ["-std=c++17", "-O2", "-ffp-contract=off", "-Wall", "-Wextra", "-static"]
    build = subprocess.run(
        [CXX, *flags, f"-I{cpp}", "-DCHECK_NS=neon", *map(str, sources), "-o", str(exe)],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr[-4000:]
    assert "warning" not in build.stderr, build.stderr[-4000:]
    run = subprocess.run([QEMU, str(exe)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
