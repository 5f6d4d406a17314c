"""The images build from the project's Dockerfiles, and every pod of the chart starts and becomes Ready
through its own probes, running as the chart says: non-root, on a read-only root filesystem."""

from __future__ import annotations

import pytest

from tests.k8s.kube import is_ready

from .cluster import COMPONENTS, LocalCluster


def test_both_images_are_built_from_the_dockerfiles(cluster: LocalCluster) -> None:
    images = cluster.images
    assert images.api.startswith("localhost/llm-service-api:")
    assert images.worker.startswith("localhost/llm-service-worker:")
    # containerd holds them, with their sizes (the worker carries torch and its CUDA libraries)
    assert 100 * 2**20 < images.sizes["api"] < images.sizes["worker"]


@pytest.mark.parametrize("component", list(COMPONENTS))
def test_every_component_is_ready_through_its_own_probe(installed: LocalCluster, component: str) -> None:
    pods = installed.pods(f"app.kubernetes.io/component={component}")
    assert len(pods) == COMPONENTS[component] and all(is_ready(pod) for pod in pods)
    for pod in pods:
        container = pod["spec"]["containers"][0]
        assert "readinessProbe" in container, f"{component} has no readiness probe"
        assert all(status["restartCount"] == 0 for status in pod["status"]["containerStatuses"])


@pytest.mark.parametrize("component", list(COMPONENTS))
def test_pods_run_as_the_chart_says(installed: LocalCluster, component: str) -> None:
    pod = installed.pods(f"app.kubernetes.io/component={component}")[0]["metadata"]["name"]

    def shell(script: str) -> str:
        return installed.kubectl("exec", "-n", "llm", pod, "--", "sh", "-c", script, check=False).strip()

    assert shell("id -u") == "10001"
    assert shell("touch /probe 2>/dev/null && echo written || echo refused") == "refused"
    writable = "/data" if component == "redis" else "/tmp"  # its volume; the others' is an emptyDir on /tmp
    assert shell(f"touch {writable}/probe && echo written") == "written"
