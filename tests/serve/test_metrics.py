"""The server's metric series against prometheus_client's own Counter and
Histogram: the same observations give the same exposition samples."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from tfjs_infer.serve.metrics import Metrics


def _samples(text: str, family: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for metric in text_string_to_metric_families(text):
        if metric.name == family:
            for s in metric.samples:
                if not s.name.endswith("_created"):
                    found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


def test_histograms_and_counters_match_prometheus_client() -> None:
    ours = Metrics()
    reference = CollectorRegistry()
    latency = Histogram(
        "tfjs_infer_request_duration_seconds",
        "Received to answered, per request",
        ["model", "protocol"],
        buckets=ours.latency.buckets,
        registry=reference,
    )
    requests = Counter(
        "tfjs_infer_requests",
        "HTTP requests answered, by model, protocol and status code",
        ["model", "protocol", "code"],
        registry=reference,
    )
    # Bucket bounds themselves (le is inclusive), values between, past the last, and zero.
    values = [0.0, 5e-5, 5.1e-5, 1e-4, 0.003, 1.0, 29.9, 30.0, 31.0, 1e-6]
    for i, v in enumerate(values):
        protocol = "v1" if i % 3 else "v2"
        ours.for_request("digits", protocol, 200).latency.observe(v)
        latency.labels("digits", protocol).observe(v)
        ours.for_request("digits", protocol, 200).requests.inc()
        requests.labels("digits", protocol, "200").inc()
    got = ours.exposition().decode()
    want = generate_latest(reference).decode()
    for family in ("tfjs_infer_request_duration_seconds", "tfjs_infer_requests"):
        assert _samples(got, family) == _samples(want, family), family
        assert _samples(got, family)
