"""Layer family: preprocessing (filled in by its own issue)."""

from __future__ import annotations
