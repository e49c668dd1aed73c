"""NEON kernels checked against the generic ones under qemu-aarch64.

x86 machines cannot run the NEON table, so this cross-compiles
kernel_check.cpp with the NEON and generic kernel sources and runs it under
user-mode qemu. Skipped unless aarch64-linux-gnu-g++ and qemu-aarch64(-static)
are installed (Debian: apt-get install g++-aarch64-linux-gnu qemu-user-static).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from neon_qemu import CXX, MISSING, QEMU, build_and_run


@pytest.mark.skipif(not (CXX and QEMU), reason=MISSING)
def test_neon_kernels_match_generic_under_qemu(tmp_path: Path) -> None:
    build, run = build_and_run(
        Path(__file__).with_name("kernel_check.cpp"), tmp_path / "kernel_check_neon"
    )
    assert build.returncode == 0, build.stderr[-4000:]
    assert "warning" not in build.stderr, build.stderr[-4000:]
    assert run is not None
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
