"""The operator's Prometheus metrics (served on OPERATOR_METRICS_PORT)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

from contract.names import METRIC_PREFIX as P

DESIRED = Gauge(f"{P}operator_desired_replicas", "Replicas the autoscaler wants per model.", ["model_name"])
DEPTH = Gauge(f"{P}operator_queue_depth", "Requests waiting or in flight per model, as last read.", ["model_name"])
RUNS = Counter(f"{P}operator_autoscale_runs", "Autoscaler decisions made (one per model per interval).", ["model_name"])
SCALES = Counter(f"{P}operator_scale_events", "Scaling decisions applied.", ["model_name", "direction"])
REDIS_ERRORS = Counter(f"{P}operator_redis_errors", "Queue-depth reads that failed (replicas were held).")
