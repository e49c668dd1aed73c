"""The structured access log: one JSON object per request, on stderr.

Lines are written in bursts (every ``interval`` seconds, every
``max_lines`` lines, and at shutdown) rather than one write per request:
a write is a system call, and under load the log would otherwise cost as
much as the request it records.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any, TextIO

try:
    import orjson as _orjson
except ImportError:  # the standard encoder writes the same line, slower
    _orjson = None  # type: ignore[assignment]


def _line(record: dict[str, Any]) -> str:
    """One record as a JSON line (its floats are times: always finite)."""
    if _orjson is not None:
        return _orjson.dumps(record).decode()
    return json.dumps(record)


class AccessLog:
    """Buffers JSON access-log lines and writes them to `stream` (default: stderr)."""

    def __init__(
        self, stream: TextIO | None = None, interval: float = 0.2, max_lines: int = 512
    ) -> None:
        self._stream = stream
        self.interval = interval
        self.max_lines = max_lines
        self._lines: list[str] = []
        self._timer: asyncio.TimerHandle | None = None

    def write(self, record: dict[str, Any]) -> None:
        """Queue one record; it reaches the stream within `interval` seconds."""
        self._lines.append(_line(record))
        if len(self._lines) >= self.max_lines:
            self.flush()
        elif self._timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no event loop (tests, shutdown): write at once
                self.flush()
                return
            self._timer = loop.call_later(self.interval, self.flush)

    def flush(self) -> None:
        """Write what is buffered."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._lines:
            return
        stream = self._stream or sys.stderr
        stream.write("\n".join(self._lines) + "\n")
        stream.flush()
        self._lines.clear()
