"""Prometheus metrics, in a registry of the app's own (so that several apps can live in one
process, as in tests).

    metrics = GatewayMetrics()
    metrics.watch_admissions([admission, ...])     # one per model: summed
    metrics.requests.labels(outcome="ok").inc()
    metrics.exposition()        # the text for GET /metrics
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from llm_gateway.admission import Admission

OUTCOMES = ("ok", "error", "timeout", "rejected", "cancelled")


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "gateway_requests",
            "Chat completion requests by outcome",
            ["outcome"],
            registry=self.registry,
        )
        for outcome in OUTCOMES:
            self.requests.labels(outcome=outcome)
        self.time_to_first_token = Histogram(
            "gateway_time_to_first_token_seconds",
            "From the request's arrival to its first token",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=self.registry,
        )
        self.tokens_out = Counter(
            "gateway_tokens_out", "Completion tokens relayed", registry=self.registry
        )
        self.model_requests = Counter(
            "gateway_model_requests",
            "Chat completion requests by model and outcome",
            ["model", "outcome"],
            registry=self.registry,
        )
        self.model_tokens_out = Counter(
            "gateway_model_tokens_out",
            "Completion tokens relayed, by model",
            ["model"],
            registry=self.registry,
        )
        self.upstream_errors = Counter(
            "gateway_upstream_errors",
            "Upstream failures by upstream and error code",
            ["upstream", "code"],
            registry=self.registry,
        )
        self.retries = Counter(
            "gateway_retries", "Retries before the first token", registry=self.registry
        )
        self.in_flight = Gauge(
            "gateway_in_flight", "Answers being generated", registry=self.registry
        )
        self.queued = Gauge(
            "gateway_queue_length", "Requests waiting for a slot", registry=self.registry
        )

    def watch_admissions(self, admissions: list[Admission]) -> None:
        self.in_flight.set_function(lambda: sum(a.running for a in admissions))
        self.queued.set_function(lambda: sum(a.queued for a in admissions))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
