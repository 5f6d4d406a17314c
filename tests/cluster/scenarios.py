"""Scenarios on the local cluster that both a test (which checks what happened) and bench/cluster.py (which
prints the timings) run."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from tests.k8s.kube import is_ready
from tests.support.stack import Api, submit, wait_for_final, wait_until

from .cluster import NAMESPACE, LocalCluster

SCALED_MODEL = "tiny-scaled"
SCALED_LABELS = f"llm-service.io/model={SCALED_MODEL}"


def llm_model(max_replicas: int, scale_down_delay: int) -> dict[str, Any]:
    """The tiny model from the model volume, with no pods until requests wait (4 per replica)."""
    return {
        "apiVersion": "llm-service.io/v1alpha1",
        "kind": "LLMModel",
        "metadata": {"name": SCALED_MODEL},
        "spec": {
            "model": "/models/tiny-random-gpt2",
            "servedModelName": SCALED_MODEL,
            "resources": {"cpu": "50m", "memory": "1Gi"},
            "maxBatchSize": 2,
            "minReplicas": 0,
            "maxReplicas": max_replicas,
            "targetQueueLength": 4,
            "scaleDownDelaySeconds": scale_down_delay,
            "generation": {"taskTimeLimit": 30},
        },
    }


@dataclass
class ScaleFromZero:
    statuses: list[str]
    pods_at_scale: str  # `kubectl get pods -A -o wide` when the model had all its pods
    first_ready: float  # seconds from the first request to the first Ready pod
    drained: float  # to every request finished
    gone: float  # from drained to no pods


def scale_from_zero(
    cluster: LocalCluster, api: Api, key: str, requests: int, replicas: int, delay: int
) -> ScaleFromZero:
    """Applies the LLMModel, queues requests, follows the pods up and back to none; deletes the model."""
    kind = ("llm-service.io/v1alpha1", "LLMModel", SCALED_MODEL, NAMESPACE)

    def pods() -> list[dict[str, Any]]:
        return cluster.pods(SCALED_LABELS)

    cluster.kube.create(llm_model(replicas, delay), namespace=NAMESPACE)
    try:
        wait_until(lambda: cluster.kube.get(*kind).get("status"), 60, "the operator to take the model", interval=1)
        assert pods() == [], "pods before any request"
        started = time.monotonic()
        ids = [submit(api, key, model=SCALED_MODEL, prompt=f"request {i}", max_tokens=48) for i in range(requests)]
        wait_until(lambda: any(is_ready(p) for p in pods()), 300, "a first Ready pod", interval=0.5)
        first_ready = time.monotonic() - started
        wait_until(lambda: sum(is_ready(p) for p in pods()) == replicas, 300, f"{replicas} Ready pods", interval=0.5)
        at_scale = cluster.kubectl("get", "pods", "-A", "-o", "wide")
        statuses = [wait_for_final(api, task_id, key, timeout=300)["status"] for task_id in ids]
        drained = time.monotonic() - started
        wait_until(lambda: pods() == [], delay + 120, "the pods to go", interval=1)
        return ScaleFromZero(statuses, at_scale, first_ready, drained, time.monotonic() - started - drained)
    finally:
        cluster.kube.delete(*kind)
        wait_until(lambda: not cluster.kube.exists(*kind), 60, "the model to be deleted (the operator's finalizer)", 1)
