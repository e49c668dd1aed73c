"""Cross-compile a kernel check program with the NEON and generic kernel
sources and run it under user-mode qemu-aarch64 (x86 machines cannot run the
NEON table). Shared by tests/kernels/test_neon_qemu.py and
tests/nonfinite/test_neon_nonfinite.py; .ci/setup-neon.sh installs the tools."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CXX = shutil.which("aarch64-linux-gnu-g++")
QEMU = shutil.which("qemu-aarch64-static") or shutil.which("qemu-aarch64")
MISSING = "needs aarch64-linux-gnu-g++ and qemu-aarch64"


def build_and_run(
    check_source: Path, exe: Path
) -> tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str] | None]:
    """Build `check_source` with the generic and NEON kernels into `exe` and
    run it under qemu; the run is None when the build failed."""
    assert CXX and QEMU, MISSING
    cpp = ROOT / "cpp"
    sources = [
        check_source,
        *sorted((cpp / "kernels" / "generic").glob("*.cpp")),
        *sorted((cpp / "kernels" / "arm").glob("*_neon.cpp")),
        # gemm_blocking(): the cache blocking the GEMM kernels read, derived
        # from the topology and the features (AMX's grant on x86).
        cpp / "kernels" / "cpu_params.cpp",
        cpp / "core" / "cpu_topology.cpp",
        cpp / "core" / "cpu_features.cpp",
    ]
    flags = ["-std=c++17", "-O2", "-ffp-contract=off", "-Wall", "-Wextra", "-static"]
    build = subprocess.run(
        [CXX, *flags, f"-I{cpp}", "-DCHECK_NS=neon", *map(str, sources), "-o", str(exe)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if build.returncode != 0:
        return build, None
    run = subprocess.run([QEMU, str(exe)], capture_output=True, text=True, timeout=600)
    return build, run
