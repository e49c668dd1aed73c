"""The package version (one place: __init__, the CLI and pickles read it)."""

from __future__ import annotations

__version__ = "0.1.0"
