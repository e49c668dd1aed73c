"""The README's claims that can be checked: every supported layer is listed."""

from __future__ import annotations

import re
from pathlib import Path

import tfjs_infer

README = Path(__file__).resolve().parent.parent / "README.md"


def test_every_supported_layer_is_in_the_readme_table() -> None:
    text = README.read_text(encoding="utf-8")
    table = text[text.index("## Supported layers") :]
    listed = set(re.findall(r"[A-Z][A-Za-z0-9]+", table))
    missing = [name for name in tfjs_infer.supported_layers() if name not in listed]
    assert not missing, f"supported layers missing from the README table: {missing}"
