"""What every request leaves behind: its Server-Timing header, its metrics and
its access-log line. Shared by the ASGI app (app.py) and the answers given
inside the HTTP protocol (fast.py), so that both record a request alike."""

from __future__ import annotations

import time
from typing import Any

from .accesslog import AccessLog
from .metrics import Metrics

_TIMING = b"compute;dur=%.4f, server;dur=%.4f, handoff;dur=%.4f"
_LOGGED = ("protocol", "model", "version", "rows", "batch_rows")


def timing_header(info: dict[str, Any], start: float) -> tuple[bytes, bytes]:
    """Server-Timing: the compute, the server's own time (the rest so far), the hand-off."""
    compute = info["compute_s"]
    own = time.perf_counter() - start - compute
    handoff = info.get("handoff_s", 0.0)
    return b"server-timing", _TIMING % (compute * 1e3, own * 1e3, handoff * 1e3)


def record(
    metrics: Metrics,
    access_log: AccessLog | None,
    scope: Any,
    info: dict[str, Any],
    status: int,
    size: int,
    elapsed: float,
) -> None:
    """Count a request in the metrics and write its access-log line. `scope` is
    the request's ASGI scope, or any mapping with its method, path and client."""
    protocol = info["protocol"]
    if protocol:
        series = metrics.for_request(info["model"], protocol, status)
        series.requests.inc()
        if series.errors is not None:
            series.errors.inc()
        series.latency.observe(elapsed)
        if "batch_rows" in info:
            series.overhead.observe(elapsed - info["compute_s"])
    if access_log is not None:
        access_log.write(log_record(scope, info, status, size, elapsed))


def log_record(
    scope: Any, info: dict[str, Any], status: int, size: int, elapsed: float
) -> dict[str, Any]:
    """One access-log line's fields."""
    client = scope.get("client")
    line = {
        "ts": round(time.time(), 6),
        "client": f"{client[0]}:{client[1]}" if client else "",
        "method": scope["method"],
        "path": scope["path"],
        "status": status,
        "bytes": size,
        "ms": round(elapsed * 1e3, 3),
    }
    for key in _LOGGED:
        if info.get(key) not in (None, ""):
            line[key] = info[key]
    if "batch_rows" in info:
        line["compute_ms"] = round(info["compute_s"] * 1e3, 4)
    return line
