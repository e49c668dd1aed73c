"""Prometheus metrics of one server (its own registry, served at /metrics).

Every update happens on the event loop thread (request handlers, and the
batcher's per-batch hook, which runs there too), so the series are plain
counts kept here and turned into Prometheus families by a collector when
/metrics is scraped. prometheus_client's own Counter and Histogram take a
lock and walk the buckets in Python on every update: five histogram
observations per request cost as much as the rest of the server's work on
a small model.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Sequence
from typing import Any, Callable, NamedTuple

from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.utils import floatToGoString

# Latency buckets from 50 us (a tiny model's whole request) to 30 s (the request limit).
_LATENCY = (
    5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5, 1, 2.5, 5,
    10, 30,
)  # fmt: skip
_OVERHEAD = (1e-5, 2.5e-5, 5e-5, 7.5e-5, 1e-4, 1.5e-4, 2.5e-4, 5e-4, 1e-3, 5e-3, 0.05)
_BATCH = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)

CONTENT_TYPE = CONTENT_TYPE_LATEST


class Count:
    """One counter series."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0.0

    def inc(self, amount: float = 1.0) -> None:
        """Add `amount` (default 1)."""
        self.value += amount


class Buckets:
    """One histogram series: per-bucket counts (the last is +Inf) and the sum."""

    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.total = 0.0

    def observe(self, value: float) -> None:
        """Count `value` in the first bucket whose upper bound is at least `value`."""
        self.counts[bisect_left(self.bounds, value)] += 1
        self.total += value


class Family:
    """A metric's series by label values."""

    def __init__(
        self, name: str, documentation: str, labels: Sequence[str], buckets: Sequence[float] = ()
    ) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = list(labels)
        self.buckets = tuple(float(b) for b in buckets)
        self.series: dict[tuple[str, ...], Any] = {}

    def labels(self, *values: str) -> Any:
        """The series for these label values (a :class:`Count` or :class:`Buckets`)."""
        found = self.series.get(values)
        if found is None:
            found = Buckets(self.buckets) if self.buckets else Count()
            self.series[values] = found
        return found

    def collect(self) -> Metric:
        """The family as prometheus_client's collectors describe it."""
        if not self.buckets:
            counters = CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)
            for values, count in self.series.items():
                counters.add_metric(list(values), count.value)
            return counters
        histogram = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        names = [floatToGoString(b) for b in self.buckets] + ["+Inf"]
        for values, series in self.series.items():
            running = 0
            cumulative = []
            for name, count in zip(names, series.counts):
                running += count
                cumulative.append((name, running))
            histogram.add_metric(list(values), cumulative, series.total)
        return histogram


class _Collector:
    def __init__(self, families: list[Family]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        for family in self.families:
            yield family.collect()


class RequestMetrics(NamedTuple):
    """The series of the request metrics for one (model, protocol, status code)."""

    requests: Count
    errors: Count | None
    latency: Buckets
    overhead: Buckets


class Metrics:
    """Requests, errors, latencies, batch sizes and queue depth, per model and protocol."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._children: dict[tuple[str, str, int], RequestMetrics] = {}
        self.requests = Family(
            "tfjs_infer_requests",
            "HTTP requests answered, by model, protocol and status code",
            ["model", "protocol", "code"],
        )
        self.errors = Family(
            "tfjs_infer_request_errors",
            "Requests answered with a 4xx or 5xx status",
            ["model", "protocol", "code"],
        )
        self.latency = Family(
            "tfjs_infer_request_duration_seconds",
            "Received to answered, per request",
            ["model", "protocol"],
            _LATENCY,
        )
        self.compute = Family(
            "tfjs_infer_compute_seconds",
            "Time of each predict call (one per batch)",
            ["model"],
            _LATENCY,
        )
        self.overhead = Family(
            "tfjs_infer_server_overhead_seconds",
            "The server's own time per inference request: received to answered, minus compute",
            ["model", "protocol"],
            _OVERHEAD,
        )
        self.batch_rows = Family(
            "tfjs_infer_batch_rows", "Rows per predict call (merged requests)", ["model"], _BATCH
        )
        self.batch_requests = Family(
            "tfjs_infer_batch_requests", "Requests merged into one predict call", ["model"], _BATCH
        )
        self.fast_path = Family(
            "tfjs_infer_fast_path_requests",
            "Inference requests answered inside the HTTP protocol's callback, without an ASGI task",
            [],
        )
        families = [self.requests, self.errors, self.latency, self.compute, self.overhead]
        families += [self.batch_rows, self.batch_requests, self.fast_path]
        self.registry.register(_Collector(families))
        self.queue_depth = Gauge(
            "tfjs_infer_queue_depth",
            "Requests accepted by a model and not yet answered",
            ["model", "version"],
            registry=self.registry,
        )
        self.in_flight = 0  # requests being handled (the app counts them)
        Gauge(
            "tfjs_infer_requests_in_flight", "Requests being handled", registry=self.registry
        ).set_function(lambda: self.in_flight)

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
