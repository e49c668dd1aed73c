"""Prometheus metrics of one server (its own registry, served at /metrics)."""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

# Latency buckets from 50 us (a tiny model's whole request) to 30 s (the request limit).
_LATENCY = (
    5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5, 1, 2.5, 5,
    10, 30,
)  # fmt: skip
_OVERHEAD = (1e-5, 2.5e-5, 5e-5, 7.5e-5, 1e-4, 1.5e-4, 2.5e-4, 5e-4, 1e-3, 5e-3, 0.05)
_BATCH = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)

CONTENT_TYPE = CONTENT_TYPE_LATEST


class RequestMetrics(NamedTuple):
    """The children of the request metrics for one (model, protocol, status code)."""

    requests: Any
    errors: Any
    latency: Any
    overhead: Any


class Metrics:
    """Requests, errors, latencies, batch sizes and queue depth, per model and protocol."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._children: dict[tuple[str, str, int], RequestMetrics] = {}
        r = self.registry
        self.requests = Counter(
            "tfjs_infer_requests",
            "HTTP requests answered, by model, protocol and status code",
            ["model", "protocol", "code"],
            registry=r,
        )
        self.errors = Counter(
            "tfjs_infer_request_errors",
            "Requests answered with a 4xx or 5xx status",
            ["model", "protocol", "code"],
            registry=r,
        )
        self.latency = Histogram(
            "tfjs_infer_request_duration_seconds",
            "Received to answered, per request",
            ["model", "protocol"],
            buckets=_LATENCY,
            registry=r,
        )
        self.compute = Histogram(
            "tfjs_infer_compute_seconds",
            "Time of each predict call (one per batch)",
            ["model"],
            buckets=_LATENCY,
            registry=r,
        )
        self.overhead = Histogram(
            "tfjs_infer_server_overhead_seconds",
            "The server's own time per inference request: received to answered, minus compute",
            ["model", "protocol"],
            buckets=_OVERHEAD,
            registry=r,
        )
        self.batch_rows = Histogram(
            "tfjs_infer_batch_rows",
            "Rows per predict call (merged requests)",
            ["model"],
            buckets=_BATCH,
            registry=r,
        )
        self.batch_requests = Histogram(
            "tfjs_infer_batch_requests",
            "Requests merged into one predict call",
            ["model"],
            buckets=_BATCH,
            registry=r,
        )
        self.queue_depth = Gauge(
            "tfjs_infer_queue_depth",
            "Requests accepted by a model and not yet answered",
            ["model", "version"],
            registry=r,
        )
        self.in_flight = Gauge(
            "tfjs_infer_requests_in_flight", "Requests being handled", registry=r
        )

    def batch_hook(self, model: str) -> Callable[[int, int, float], None]:
        """A callback for the model's Batcher: each batch's rows, requests and compute time."""
        rows_hist = self.batch_rows.labels(model)
        reqs_hist = self.batch_requests.labels(model)
        compute_hist = self.compute.labels(model)

        def observe(rows: int, requests: int, seconds: float) -> None:
            rows_hist.observe(rows)
            reqs_hist.observe(requests)
            compute_hist.observe(seconds)

        return observe

    def for_request(self, model: str, protocol: str, code: int) -> RequestMetrics:
        """The labelled series one request updates (looked up once per label set)."""
        key = (model, protocol, code)
        found = self._children.get(key)
        if found is None:
            labels = (model, protocol, str(code))
            found = RequestMetrics(
                self.requests.labels(*labels),
                self.errors.labels(*labels) if code >= 400 else None,
                self.latency.labels(model, protocol),
                self.overhead.labels(model, protocol),
            )
            self._children[key] = found
        return found

    def exposition(self) -> bytes:
        """The text format Prometheus scrapes."""
        return generate_latest(self.registry)
