"""Layer family: wrappers (filled in by its own issue)."""

from __future__ import annotations
