"""Scale from zero with real pods: an LLMModel with minReplicas 0 gets worker pods when requests wait,
they load the model and drain the queue, and after scaleDownDelaySeconds they are gone."""

from __future__ import annotations

import time

from tests.stack import Api, submit, wait_for_final, wait_until

from .cluster import NAMESPACE, LocalCluster, is_ready

MODEL = "tiny-scaled"
LABELS = f"llm-service.io/model={MODEL}"
REPLICAS = 2  # 10 waiting requests / targetQueueLength 4, capped by maxReplicas
SCALE_DOWN_DELAY = 20


def llm_model() -> dict[str, object]:
    return {
        "apiVersion": "llm-service.io/v1alpha1",
        "kind": "LLMModel",
        "metadata": {"name": MODEL},
        "spec": {
            "model": "/models/tiny-random-gpt2",
            "servedModelName": MODEL,
            "resources": {"cpu": "50m", "memory": "1Gi"},
            "maxBatchSize": 2,
            "minReplicas": 0,
            "maxReplicas": REPLICAS,
            "targetQueueLength": 4,
            "scaleDownDelaySeconds": SCALE_DOWN_DELAY,
            "generation": {"taskTimeLimit": 30},
        },
    }


def test_an_llm_model_scales_from_zero_drains_the_queue_and_back(
    installed: LocalCluster, api: Api, key: str, report: dict[str, object]
) -> None:
    # Given an LLMModel with no pods
    installed.kube.create(llm_model(), namespace=NAMESPACE)
    wait_until(lambda: api_knows_model(installed), 60, "the operator to register the model", interval=1)
    assert installed.pods(LABELS) == []
    # When 10 requests are queued for it
    started = time.monotonic()
    ids = [submit(api, key, model=MODEL, prompt=f"request {i}", max_tokens=48, temperature=0) for i in range(10)]
    # Then the operator scales it to REPLICAS pods, which load the model and become Ready
    wait_until(lambda: any(is_ready(p) for p in installed.pods(LABELS)), 300, "a first Ready pod", interval=0.5)
    first_ready = time.monotonic() - started
    wait_until(lambda: len(installed.pods(LABELS)) == REPLICAS, 120, f"{REPLICAS} pods", interval=0.5)
    report["pods at scale"] = installed.kubectl("get", "pods", "-A", "-o", "wide")
    # and every request completes
    results = [wait_for_final(api, task_id, key, timeout=300) for task_id in ids]
    assert [r["status"] for r in results] == ["completed"] * 10
    drained = time.monotonic() - started
    # and after the scale-down delay the pods are gone
    wait_until(lambda: installed.pods(LABELS) == [], SCALE_DOWN_DELAY + 120, "the pods to go", interval=1)
    report["scale from zero"] = {
        "requests": 10,
        "replicas": REPLICAS,
        "request to first pod Ready (s)": round(first_ready, 1),
        "request to queue drained (s)": round(drained, 1),
        "drained to no pods (s)": round(time.monotonic() - started - drained, 1),
    }
    installed.kube.delete("llm-service.io/v1alpha1", "LLMModel", MODEL, NAMESPACE)


def api_knows_model(cluster: LocalCluster) -> bool:
    status = cluster.kube.get("llm-service.io/v1alpha1", "LLMModel", MODEL, NAMESPACE).get("status", {})
    return bool(status)
