"""Run a snippet of Python in a fresh interpreter and read back its JSON.

Settings read once per process (the TFJS_INFER_* switches, cpu_params'
overrides) can only be tested in a new process: the snippet runs there with
the tests folder as its first argument and prints one JSON document.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))


def run_json_child(code: str, env: dict[str, str], timeout: float = 300) -> Any:
    """Run ``code`` under ``env`` (the whole environment) and return its JSON output."""
    p = subprocess.run(
        [sys.executable, "-c", code, TESTS_DIR],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)
