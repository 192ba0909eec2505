"""Every Prometheus collector, declared once. Labels are bounded: route template, model alias,
backend name, status class. Never a key id, a raw path or user text."""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)

# vLLM's latency histograms start at 0.3 s; the façade's overheads are in milliseconds.
_LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    120.0,
    300.0,
    600.0,
)
# The façade's own steps, in tenths of a millisecond up.
_STEP_BUCKETS = (0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.0025, 0.005, 0.01, 0.025, 0.1, 1.0)
_TOKEN_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.5)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None, *, multiprocess: bool = False) -> None:
        """multiprocess: several workers write to PROMETHEUS_MULTIPROC_DIR; /metrics adds them up."""
        self.multiprocess = multiprocess
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.requests = Counter("pearcare_requests", "Requests handled", ["route", "alias", "status_class"], registry=r)
        self.request_duration = Histogram(
            "pearcare_request_duration_seconds",
            "Time from request to last byte",
            ["route", "alias"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.time_to_first_token = Histogram(
            "pearcare_time_to_first_token_seconds",
            "Time from request to the first streamed event",
            ["alias"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.inter_token_latency = Histogram(
            "pearcare_inter_token_latency_seconds",
            "Mean gap between streamed events, one observation per stream",
            ["alias"],
            buckets=_TOKEN_LATENCY_BUCKETS,
            registry=r,
        )
        self.tokens = Counter("pearcare_tokens", "Tokens used", ["alias", "kind"], registry=r)
        self.cache_requests = Counter(
            "pearcare_cache_requests",
            "Requests that opted in to the response cache: hit, miss, or bypass (not deterministic)",
            ["alias", "result"],
            registry=r,
        )
        self.cache_skipped = Counter(
            "pearcare_cache_skipped", "Answers not kept in the response cache", ["reason"], registry=r
        )
        self.backend_requests = Counter(
            "pearcare_backend_requests", "Requests sent to a backend", ["backend", "outcome"], registry=r
        )
        self.backend_in_flight = Gauge(
            "pearcare_backend_in_flight",
            "Requests open at a backend",
            ["backend"],
            registry=r,
            multiprocess_mode="livesum",
        )
        self.endpoint_in_flight = Gauge(
            "pearcare_endpoint_in_flight",
            "Requests open at each replica of a backend",
            ["backend", "endpoint"],
            registry=r,
            multiprocess_mode="livesum",
        )
        self.endpoint_breaker = Gauge(
            "pearcare_endpoint_breaker_state",
            "Each replica's circuit breaker: 0 closed, 1 half-open, 2 open",
            ["backend", "endpoint"],
            registry=r,
            multiprocess_mode="livemax",
        )
        self.endpoint_engine_load = Gauge(
            "pearcare_endpoint_engine_load",
            "Each vLLM replica's own gauges as last scraped (running, waiting, kv_cache)",
            ["backend", "endpoint", "kind"],
            registry=r,
            multiprocess_mode="liveall",
        )
        self.queue_depth = Gauge(
            "pearcare_backend_queue_depth",
            "Requests waiting for a replica under its in-flight cap",
            ["backend"],
            registry=r,
            multiprocess_mode="livesum",
        )
        self.queue_wait = Histogram(
            "pearcare_backend_queue_wait_seconds",
            "Time requests waited for a replica",
            ["backend"],
            buckets=(0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=r,
        )
        self.queue_rejections = Counter(
            "pearcare_backend_queue_rejections",
            "Requests turned away at capacity (queue_full, wait_exceeded)",
            ["backend", "reason"],
            registry=r,
        )
        self.fallbacks = Counter(
            "pearcare_fallbacks", "Requests served by a later backend of the alias", ["alias"], registry=r
        )
        self.rate_limited = Counter("pearcare_rate_limited", "Requests refused by a limit", ["kind"], registry=r)
        self.auth_failures = Counter("pearcare_auth_failures", "Requests with a missing or bad key", registry=r)
        self.store_round_trip = Histogram(
            "pearcare_store_round_trip_seconds",
            "Auth + rate-limit check: one round trip to the key/limit store, as a request waits for it",
            buckets=_STEP_BUCKETS,
            registry=r,
        )
        self.backend_response_start = Histogram(
            "pearcare_backend_response_start_seconds",
            "From sending a request to a backend to its status line and headers",
            ["backend"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.store_errors = Counter("pearcare_store_errors", "Failed calls to the key/limit store", registry=r)
        self.stage_duration = Histogram(
            "pearcare_consultation_stage_duration_seconds",
            "Time each consultation stage took",
            ["stage"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.stage_failures = Counter(
            "pearcare_consultation_stage_failures", "Consultation stages that failed", ["stage"], registry=r
        )
        self.red_flags = Counter(
            "pearcare_consultation_red_flags",
            "Consultations escalated as emergencies, by who found the danger signs (rules, learned, model)",
            ["source"],
            registry=r,
        )
        self.client_disconnects = Counter(
            "pearcare_client_disconnects", "Streams the client abandoned", ["alias"], registry=r
        )
        # Types and counts only: an identifier's value is never a label.
        self.data_policy = Counter(
            "pearcare_data_policy",
            "Requests screened for a non-allow backend, by what the policy did (clean, redacted, blocked, "
            "refused_binary)",
            ["backend", "action"],
            registry=r,
        )
        self.phi_entities = Counter(
            "pearcare_phi_entities", "Patient identifiers detected in requests, by type", ["type"], registry=r
        )
        self.phi_detection_seconds = Histogram(
            "pearcare_phi_detection_seconds",
            "Time to screen one request for identifiers",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
            registry=r,
        )
        self.audit_records = Counter(
            "pearcare_audit_records",
            "Audit records, by where they went (stored, spooled, replayed, dropped)",
            ["outcome"],
            registry=r,
        )
        self.audit_spooled_bytes = Gauge(
            "pearcare_audit_spool_bytes",
            "Audit records waiting on disk for the store",
            registry=r,
            multiprocess_mode="livesum",
        )

    def exposition_registry(self) -> CollectorRegistry:
        """What a scrape reads: this process's collectors, or every worker's added up."""
        if not self.multiprocess:
            return self.registry
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
        return merged

    def render(self) -> bytes:
        return generate_latest(self.exposition_registry())

    def serve_on_port(self, host: str, port: int) -> None:
        """/metrics on a port of its own (a thread), apart from the API: the network decides who
        may scrape it. With several workers, run it in the parent process."""
        start_http_server(port, addr=host, registry=self.exposition_registry())

    def process_exited(self, pid: int) -> None:
        if self.multiprocess:
            multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
