"""NaN / +-inf through the NEON kernels, under qemu-aarch64, against the
generic kernels (which tests/nonfinite/test_nonfinite_fixtures.py checks
against the real frameworks). Skipped unless aarch64-linux-gnu-g++ and
qemu-aarch64 are installed (Debian: g++-aarch64-linux-gnu qemu-user-static),
as tests/kernels/test_neon_qemu.py."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CXX = shutil.which("aarch64-linux-gnu-g++")
QEMU = shutil.which("qemu-aarch64-static") or shutil.which("qemu-aarch64")


@pytest.mark.skipif(not (CXX and QEMU), reason="needs aarch64-linux-gnu-g++ and qemu-aarch64")
def test_neon_nonfinite_matches_generic(tmp_path: Path) -> None:
    cpp = ROOT / "cpp"
    sources = [
        Path(__file__).with_name("neon_nonfinite_check.cpp"),
        *sorted((cpp / "kernels" / "generic").glob("*.cpp")),
        *sorted((cpp / "kernels" / "arm").glob("*_neon.cpp")),
    ]
    exe = tmp_path / "neon_nonfinite_check"
    flags = ["-std=c++17", "-O2", "-ffp-contract=off", "-Wall", "-Wextra", "-static"]
    build = subprocess.run(
        [CXX, *flags, f"-I{cpp}", "-DCHECK_NS=neon", *map(str, sources), "-o", str(exe)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stderr[-4000:]
    assert "warning" not in build.stderr, build.stderr[-4000:]
    run = subprocess.run([QEMU, str(exe)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "non-finite cells compared" in run.stdout
