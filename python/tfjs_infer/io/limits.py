"""Defaults shared by the readers, and URL recognition (kept import-light: the
http reader and its urllib imports load only when a URL is given)."""

from __future__ import annotations

import re

DEFAULT_MAX_BYTES = 4 << 30  # the most bytes read from memory, archives or URLs
DEFAULT_TIMEOUT = 30.0  # seconds for each connection or read of a URL
DEFAULT_TOTAL_TIMEOUT = 600.0  # seconds for a whole download

_URL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+://")  # two letters at least: not C://


def is_url(text: str) -> bool:
    """True for strings that look like a URL with a scheme (``scheme://...``)."""
    return _URL_RE.match(text) is not None


__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_TIMEOUT", "DEFAULT_TOTAL_TIMEOUT", "is_url"]
