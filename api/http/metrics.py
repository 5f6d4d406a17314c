"""GET /metrics: request counts and latency by route (prometheus-flask-exporter, multiprocess under
Gunicorn), rate-limit rejections, submissions, and, read from Redis at scrape time, tasks by final status
queue depth and live workers per model, and usage by key and model, so the numbers cover every worker, even
after workers scaled to zero."""

from __future__ import annotations

import os
from collections.abc import Iterator

import redis
from flask import Flask, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_flask_exporter import PrometheusMetrics

from contract import heartbeats, usage
from contract.names import METRIC_PREFIX as P
from contract.queue_depth import queue_depth

from ..services import Services

RATE_LIMIT_REJECTIONS = Counter(f"{P}rate_limit_rejections", "Requests refused with 429, by route.", ["route"])
TASKS_SUBMITTED = Counter(f"{P}tasks_submitted", "Tasks accepted with 202.", ["model_name"])
WEBHOOK_ATTEMPTS = Counter(
    f"{P}webhook_attempts", "Webhook attempts, by outcome (delivered, retrying, given_up).", ["outcome"]
)
for _outcome in ("delivered", "retrying", "given_up"):
    WEBHOOK_ATTEMPTS.labels(_outcome)  # exported at 0 from the start, so rates and alerts see every outcome
USAGE_LABELS = ["tenant", "api_key_id", "model_name"]
SSE_STREAMS_OPEN = Gauge(f"{P}sse_streams_open", "SSE connections open now.", multiprocess_mode="livesum")


class RedisStatsCollector:
    """Cluster-wide numbers kept in Redis, read when Prometheus scrapes."""

    def __init__(self, svc: Services) -> None:
        self.svc = svc

    def collect(self) -> Iterator[Metric]:
        try:
            finished = self.svc.store.finished_counts()
            beats = [beat for beat in heartbeats.live(self.svc.redis) if beat.loaded]
            models = {self.svc.settings.model_id, *heartbeats.loaded_models(beats)}
            depths = {model: queue_depth(self.svc.redis, model) for model in sorted(models)}
        except redis.RedisError:
            return  # /health reports Redis; a scrape still returns the request metrics
        tasks = CounterMetricFamily(
            f"{P}tasks_finished", "Tasks finished, by final status.", labels=["model_name", "status"]
        )
        for (model, status), count in sorted(finished.items()):
            tasks.add_metric([model, status], count)
        depth = GaugeMetricFamily(
            f"{P}queue_depth",
            "Requests in Redis per model: waiting, or taken by a worker.",
            labels=["model_name", "state"],
        )
        for model, found in depths.items():
            depth.add_metric([model, "waiting"], found.waiting)
            depth.add_metric([model, "in_flight"], found.in_flight)
        lines = GaugeMetricFamily(
            f"{P}batch_lines_queued",
            "Batch API lines per model on its offline queue: waiting, or taken by a worker.",
            labels=["model_name"],
        )
        for model, found in depths.items():
            lines.add_metric([model], found.offline)
        workers = GaugeMetricFamily(
            f"{P}workers", "Live workers with the model loaded, from their heartbeats.", labels=["model_name"]
        )
        for model in sorted(models):
            workers.add_metric([model], sum(model in beat.models for beat in beats))
        yield tasks
        yield depth
        yield lines
        yield workers
        yield from self._usage()

    def _usage(self) -> Iterator[Metric]:
        """Tokens and requests by tenant, key and model since Redis began (contract/usage.py); tenants and keys
        are declared (API_KEYS, key files, LLMModel and LLMTenant Secrets), so the label values stay bounded."""
        try:
            totals = usage.totals(self.svc.redis)
        except redis.RedisError:
            return
        tokens = CounterMetricFamily(
            f"{P}usage_tokens",
            "Tokens of finished tasks, by tenant, key, model and kind.",
            labels=[*USAGE_LABELS, "kind"],
        )
        requests = CounterMetricFamily(
            f"{P}usage_requests", "Finished tasks, by tenant, key and model.", labels=USAGE_LABELS
        )
        for entry in totals:
            who = [entry.tenant, entry.api_key_id, entry.model]
            tokens.add_metric([*who, "input"], entry.input_tokens)
            tokens.add_metric([*who, "output"], entry.output_tokens)
            requests.add_metric(who, entry.num_model_requests)
        yield tokens
        yield requests


def init_app(app: Flask, svc: Services) -> None:
    # Label by route template (/status/<task_id>), never by path: task ids would explode the series.
    exporter = PrometheusMetrics(app, path=None, group_by="url_rule", registry=CollectorRegistry())
    redis_stats = CollectorRegistry()
    redis_stats.register(RedisStatsCollector(svc))  # type: ignore[arg-type]

    @app.get("/metrics")
    @exporter.do_not_track()
    def metrics() -> Response:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            # Under Gunicorn: every worker process's numbers, from prometheus_client's files.
            every_process = CollectorRegistry()
            MultiProcessCollector(every_process)
            registries = [every_process, redis_stats]
        else:  # a single process, e.g. an app built in a test
            registries = [REGISTRY, exporter.registry, redis_stats]
        return Response(b"".join(generate_latest(r) for r in registries), mimetype=CONTENT_TYPE_LATEST)
