"""Scale from zero with real pods: an LLMModel with minReplicas 0 gets worker pods when requests wait,
they load the model and drain the queue, and after scaleDownDelaySeconds they are gone."""

from __future__ import annotations

from tests.support.stack import Api

from .cluster import LocalCluster
from .scenarios import SCALED_MODEL, scale_from_zero

REPLICAS = 2  # 10 waiting requests / targetQueueLength 4, capped by maxReplicas


def test_an_llm_model_scales_from_zero_drains_the_queue_and_back(
    installed: LocalCluster, api: Api, key: str, report: dict[str, object]
) -> None:
    run = scale_from_zero(installed, api, key, requests=10, replicas=REPLICAS, delay=20)
    assert run.statuses == ["completed"] * 10
    assert run.pods_at_scale.count(f"-model-{SCALED_MODEL}-") == REPLICAS
    report["pods at scale"] = run.pods_at_scale
    report["scale from zero (s)"] = {"first pod Ready": run.first_ready, "drained": run.drained, "gone": run.gone}
