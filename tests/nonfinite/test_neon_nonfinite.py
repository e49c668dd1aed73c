"""NaN / +-inf through the NEON kernels, under qemu-aarch64, against the
generic kernels (which tests/nonfinite/test_nonfinite_fixtures.py checks
against the real frameworks). Skipped unless aarch64-linux-gnu-g++ and
qemu-aarch64 are installed (Debian: g++-aarch64-linux-gnu qemu-user-static),
as tests/kernels/test_neon_qemu.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from neon_qemu import CXX, MISSING, QEMU, build_and_run


@pytest.mark.skipif(not (CXX and QEMU), reason=MISSING)
def test_neon_nonfinite_matches_generic(tmp_path: Path) -> None:
    build, run = build_and_run(
        Path(__file__).with_name("neon_nonfinite_check.cpp"), tmp_path / "neon_nonfinite_check"
    )
    assert build.returncode == 0, build.stderr[-4000:]
    assert "warning" not in build.stderr, build.stderr[-4000:]
    assert run is not None
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "non-finite cells compared" in run.stdout
