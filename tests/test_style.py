"""Style gates: Python is ruff-clean (lint and format) and mypy-clean, C++ is
clang-format-clean, with the configurations committed in the repository
(pyproject.toml's [tool.ruff] and [tool.mypy], .clang-format)."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY_DIRS = ["python", "tests", "bench", "examples"]


def _tracked(*patterns: str) -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", *patterns], cwd=ROOT, capture_output=True, text=True, check=False
    )
    return out.stdout.split() if out.returncode == 0 else []


def _tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} is not installed: pip install '.[test]' brings it"
    return path


def test_ruff_check() -> None:
    r = subprocess.run([_tool("ruff"), "check", *PY_DIRS], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_ruff_format() -> None:
    cmd = [_tool("ruff"), "format", "--check", *PY_DIRS]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_mypy() -> None:
    """The package type-checks clean ([tool.mypy] in pyproject.toml names what and how)."""
    missing = "mypy is not installed: pip install '.[test]' brings it"
    assert importlib.util.find_spec("mypy"), missing
    r = subprocess.run(
        [sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, timeout=900
    )
    assert r.returncode == 0, (r.stdout + r.stderr)[-6000:]


MAX_LINES = 700
SOURCE_SUFFIXES = (".py", ".pyi", ".cpp", ".h", ".cu", ".cuh", ".mjs", ".cjs", ".js", ".sh")


def test_no_source_file_over_700_lines() -> None:
    """Split a file rather than grow it past 700 lines (the project's style rule)."""
    files = [f for f in _tracked() if f.endswith(SOURCE_SUFFIXES)]
    if not files:  # not a git checkout: walk the source folders
        roots = [ROOT / d for d in ("cpp", "python", "tests", "bench", "tools", "examples")]
        files = [
            str(p.relative_to(ROOT))
            for r in roots
            for p in r.rglob("*")
            if p.suffix in SOURCE_SUFFIXES and "node_modules" not in p.parts
        ]
    assert len(files) > 100, "no sources found"
    long = {}
    for f in files:
        path = ROOT / f
        if path.is_file():
            n = len(path.read_text(encoding="utf-8", errors="replace").splitlines())
            if n > MAX_LINES:
                long[f] = n
    assert not long, f"files over {MAX_LINES} lines: {long}"


def test_clang_format() -> None:
    files = _tracked("cpp/*.cpp", "cpp/*.h", "cpp/*.cu", "cpp/*.cuh")
    if not files:  # not a git checkout (an sdist): list the sources directly
        files = [str(p.relative_to(ROOT)) for p in (ROOT / "cpp").rglob("*.[ch]*")]
    assert files, "no C++ sources found"
    cmd = [_tool("clang-format"), "--dry-run", "-Werror", *files]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-4000:]
