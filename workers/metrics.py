"""The worker's Prometheus metrics, named as vLLM names its serving metrics, under our prefix.

They live in prometheus_client's multiprocess mode (`python -m workers` sets the directory before any
process starts) and are served with Dramatiq's own metrics by Dramatiq's exposition server.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from contract.names import METRIC_PREFIX as P

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160, 320, 640)
TOKEN_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 2.5)
LABELS = ["model_name"]


class WorkerMetrics:
    """One set per worker process; every series carries the name of the model a request asked for."""

    def __init__(self) -> None:
        self.time_to_first_token = Histogram(
            f"{P}time_to_first_token_seconds", "Time to first generated token.", LABELS, buckets=LATENCY_BUCKETS
        )
        self.time_per_output_token = Histogram(
            f"{P}time_per_output_token_seconds",
            "Mean time per generated token after the first, per request.",
            LABELS,
            buckets=TOKEN_BUCKETS,
        )
        self.e2e_latency = Histogram(
            f"{P}e2e_request_latency_seconds", "Submission to finish, per request.", LABELS, buckets=LATENCY_BUCKETS
        )
        self.queue_time = Histogram(
            f"{P}request_queue_time_seconds",
            "Time waiting in Redis before generation.",
            LABELS,
            buckets=LATENCY_BUCKETS,
        )
        self.prompt_tokens = Counter(f"{P}prompt_tokens", "Prompt tokens processed.", LABELS)
        self.generation_tokens = Counter(f"{P}generation_tokens", "Tokens generated.", LABELS)
        # vLLM's prefix cache counters: tokens looked up, and tokens found (the batch engine's prefix cache)
        self.prefix_cache_queries = Counter(
            f"{P}prefix_cache_queries", "Prefix cache queries, in prompt tokens queried.", LABELS
        )
        self.prefix_cache_hits = Counter(f"{P}prefix_cache_hits", "Prefix cache hits, in prompt tokens cached.", LABELS)
        self.running = Gauge(
            f"{P}num_requests_running", "Requests generating now.", LABELS, multiprocess_mode="livesum"
        )
        self.waiting = Gauge(
            f"{P}num_requests_waiting", "Requests queued in Redis for this model.", LABELS, multiprocess_mode="livemax"
        )
        self.success = Counter(
            f"{P}request_success",
            "Finished requests by reason: stop (end of sequence) or length.",
            [*LABELS, "finished_reason"],
        )
        self.failure = Counter(f"{P}request_failure", "Failed requests by error type.", [*LABELS, "error_type"])

    def observe_success(
        self,
        model: str,
        *,
        queue_time: float,
        e2e: float,
        ttft: float | None,
        decode_time: float,
        prompt: int,
        generated: int,
        finished_reason: str,
        cached: int | None = None,
    ) -> None:
        self.queue_time.labels(model).observe(queue_time)
        self.e2e_latency.labels(model).observe(e2e)
        if ttft is not None:
            self.time_to_first_token.labels(model).observe(ttft)
        if generated > 1:
            self.time_per_output_token.labels(model).observe(decode_time / (generated - 1))
        self.prompt_tokens.labels(model).inc(prompt)
        if cached is not None:
            self.prefix_cache_queries.labels(model).inc(prompt)
            self.prefix_cache_hits.labels(model).inc(cached)
        self.generation_tokens.labels(model).inc(generated)
        self.success.labels(model, finished_reason).inc()

    def observe_failure(self, model: str, error_type: str) -> None:
        self.failure.labels(model, error_type).inc()
