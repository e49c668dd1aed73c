"""AMX detection (core/cpu_features.cpp) against the kernel's own view of the CPU
(/proc/cpuinfo flags), and the TFJS_INFER_AMX=0 switch, in fresh processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

CPUINFO = Path("/proc/cpuinfo")
PROBE = (
    "import json, tfjs_infer as t; b = t.build_info(); "
    "print(json.dumps({k: b[k] for k in ('amx_bf16', 'amx_int8', 'amx_status', "
    "'avx512_bf16', 'avx512_vnni')}))"
)


def _cpu_flags() -> set[str]:
    for line in CPUINFO.read_text().splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def _amx_report(env_amx: str | None) -> dict:
    env = None
    if env_amx is not None:
        import os

        env = dict(os.environ, TFJS_INFER_AMX=env_amx)
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


@pytest.mark.skipif(not CPUINFO.exists(), reason="needs Linux /proc/cpuinfo")
def test_amx_matches_cpuinfo() -> None:
    flags = _cpu_flags()
    report = _amx_report(None)
    has_tile = "amx_tile" in flags
    # Linux lists amx_* only when the kernel manages tile state, which is
    # what the permission request needs too.
    assert report["amx_bf16"] == (has_tile and "amx_bf16" in flags and report["avx512_bf16"]), (
        report
    )
    assert report["amx_int8"] == (has_tile and "amx_int8" in flags and report["avx512_vnni"]), (
        report
    )
    if has_tile:
        assert report["amx_status"] == "on", report
    else:
        assert report["amx_status"] in ("the CPU has no AMX", "AMX is used on Linux x86-64 only")


@pytest.mark.skipif(not CPUINFO.exists(), reason="needs Linux /proc/cpuinfo")
def test_amx_switch_off() -> None:
    report = _amx_report("0")
    assert not report["amx_bf16"] and not report["amx_int8"], report
    if "amx_tile" in _cpu_flags():
        assert report["amx_status"] == "off (TFJS_INFER_AMX=0)", report
