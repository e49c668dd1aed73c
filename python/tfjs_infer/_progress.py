"""A Keras-style progress bar for predict over many batches, on stderr.

``verbose=1`` draws the bar when stderr is a terminal (Keras's interactive
mode); ``verbose=2`` prints one line when done; 0 is silent. The environment
variable ``TFJS_INFER_PROGRESS`` overrides the terminal check: ``always``
draws the bar even into a file or pipe, ``never`` silences every mode.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any, TextIO

from .errors import InputValueError

_WIDTH = 30
_REDRAW_S = 0.1  # redraw at most this often: the bar must cost nothing per batch


def resolve_verbose(verbose: Any) -> int:
    """0, 1 or 2 from Keras-style values (``"auto"`` means 1)."""
    if verbose == "auto":
        return 1
    if isinstance(verbose, bool) or verbose in (0, 1, 2):
        return int(verbose)
    raise InputValueError(f"verbose must be 0, 1, 2 or 'auto', received {verbose!r}")


class Progress:
    """Progress over `total` steps; ``update(done)`` after each, ``close()`` at the end."""

    def __init__(self, total: int, verbose: Any, stream: TextIO | None = None) -> None:
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        mode = resolve_verbose(verbose)
        env = os.environ.get("TFJS_INFER_PROGRESS", "auto").strip().lower()
        if (
            env == "never"
            or mode == 0
            or (mode == 1 and env != "always" and not _isatty(self.stream))
        ):
            self.mode = 0
        else:
            self.mode = mode
        self.start = time.perf_counter()
        self.last_draw = 0.0
        self.done = 0

    def update(self, done: int) -> None:
        self.done = done
        if self.mode != 1:
            return
        now = time.perf_counter()
        if done >= self.total or now - self.last_draw < _REDRAW_S:
            return  # the final line is close()'s
        self.last_draw = now
        self._write("\r" + self._line(now))

    def close(self) -> None:
        """Print the final line (all steps done)."""
        self.done = self.total
        if self.mode == 0:
            return
        now = time.perf_counter()
        prefix = "\r" if self.mode == 1 else ""
        self._write(prefix + self._line(now, final=True) + "\n")

    def _line(self, now: float, final: bool = False) -> str:
        n, total = self.done, max(self.total, 1)
        digits = len(str(total))
        elapsed = now - self.start
        if self.mode == 2:
            return f"{n}/{total} - {elapsed:.0f}s {_per_step(elapsed, n)}"
        filled = int(_WIDTH * n / total)
        bar = "=" * filled + (">" if filled < _WIDTH else "") + "." * (_WIDTH - filled - 1)
        bar = bar[:_WIDTH]
        if final or n >= total:
            tail = f"{elapsed:.0f}s {_per_step(elapsed, n)}"
        else:
            eta = elapsed / n * (total - n) if n else 0.0
            tail = f"ETA: {eta:.0f}s"
        return f"{n:>{digits}}/{total} [{bar}] - {tail}"

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            self.mode = 0  # a closed or broken stream must not break predict


def _per_step(elapsed: float, steps: int) -> str:
    per = elapsed / max(steps, 1)
    return f"{per * 1e3:.0f}ms/step" if per >= 1e-3 else f"{per * 1e6:.0f}us/step"


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False
