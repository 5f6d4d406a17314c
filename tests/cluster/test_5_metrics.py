"""Grafana's data, for real: Debian's Prometheus scrapes the pods as the chart's ServiceMonitor asks
(its targets resolved from the cluster, as the Prometheus Operator does), evaluates the chart's PrometheusRule, and
every query of the dashboard returns data after traffic. The no-worker alert fires when a model has waiting
work and no worker, and only then."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from tests.k8s.testbed import answers
from tests.support.stack import ROOT, Api, Process, free_port, submit, wait_for_final, wait_until

from .cluster import NAMESPACE, PREFIX, LocalCluster

DASHBOARD = ROOT / "helm" / "llm-service" / "dashboards" / "llm-service.json"
NO_WORKER_ALERT = "LLMServiceNoWorkerForQueuedModel"
# Grafana's variables, as the dashboard's defaults resolve them
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$model": ".+"}


class ServiceMonitorTargets(threading.Thread):
    """What the Prometheus Operator's discovery does with a ServiceMonitor, as a file Prometheus watches.

    Debian's Prometheus is built without Kubernetes service discovery, so this resolves the monitor's
    Services and their EndpointSlices every 2 s (pods come and go in these tests) into a file_sd file,
    with the labels the operator would give each target (namespace, service, pod).
    """

    def __init__(self, cluster: LocalCluster, monitor: dict[str, Any], path: Path) -> None:
        super().__init__(daemon=True)
        self.cluster, self.monitor, self.path = cluster, monitor, path
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(2):
            with contextlib.suppress(Exception):  # the API server may be busy; the next round catches up
                self.write()

    def write(self) -> None:
        selector = ",".join(f"{k}={v}" for k, v in self.monitor["spec"]["selector"]["matchLabels"].items())
        groups = []
        for service in self.cluster.kube.list("v1", "Service", NAMESPACE, selector):
            name = service["metadata"]["name"]
            slices = self.cluster.kube.list(
                "discovery.k8s.io/v1", "EndpointSlice", NAMESPACE, f"kubernetes.io/service-name={name}"
            )
            for endpoint in self.monitor["spec"]["endpoints"]:
                labels = {"__metrics_path__": endpoint["path"], "namespace": NAMESPACE, "service": name}
                for address, port, pod in _ready_addresses(slices, endpoint["port"]):
                    groups.append({"targets": [f"{address}:{port}"], "labels": {**labels, "pod": pod}})
        self.path.with_suffix(".tmp").write_text(json.dumps(groups))
        self.path.with_suffix(".tmp").replace(self.path)  # Prometheus never reads half a file


def _ready_addresses(slices: list[dict[str, Any]], port_name: str) -> list[tuple[str, int, str]]:
    found = []
    for piece in slices:
        ports = [p["port"] for p in piece.get("ports") or [] if p.get("name") == port_name]
        for endpoint in piece.get("endpoints") or []:
            if ports and endpoint.get("conditions", {}).get("ready"):
                pod = endpoint.get("targetRef", {}).get("name", "")
                found += [(address, ports[0], pod) for address in endpoint["addresses"]]
    return found


def rules_with_short_waits(rule: dict[str, Any]) -> dict[str, Any]:
    """The PrometheusRule's groups as a rule file; each `for` cut to 2 s so a test can see an alert fire
    (the expressions, which are what could be wrong, are unchanged)."""
    groups = json.loads(json.dumps(rule["spec"]["groups"]))
    for group in groups:
        for item in group["rules"]:
            if "for" in item:
                item["for"] = "2s"
    return {"groups": groups}


@pytest.fixture(scope="module")
def prometheus(installed: LocalCluster) -> Iterator[str]:
    """Prometheus on loopback, configured from the release's own ServiceMonitor and PrometheusRule."""
    folder = installed.workdir / "prometheus"
    folder.mkdir(exist_ok=True)
    monitor = installed.kube.get("monitoring.coreos.com/v1", "ServiceMonitor", PREFIX, NAMESPACE)
    rule = installed.kube.get("monitoring.coreos.com/v1", "PrometheusRule", PREFIX, NAMESPACE)
    (folder / "rules.yaml").write_text(yaml.safe_dump(rules_with_short_waits(rule)))
    targets = ServiceMonitorTargets(installed, monitor, folder / "targets.json")
    targets.write()
    targets.start()
    config = {
        "global": {"scrape_interval": "2s", "evaluation_interval": "2s"},
        "rule_files": [str(folder / "rules.yaml")],
        "scrape_configs": [
            {
                "job_name": f"serviceMonitor/{NAMESPACE}/{PREFIX}",
                "file_sd_configs": [{"files": [str(folder / "targets.json")], "refresh_interval": "2s"}],
            }
        ],
    }
    (folder / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    command = ["prometheus", f"--config.file={folder}/prometheus.yml", f"--storage.tsdb.path={folder}/data"]
    command.append(f"--web.listen-address=127.0.0.1:{port}")
    process = Process("prometheus", command, {}, folder)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: answers(f"{url}/-/ready"), 60, "prometheus")
        wait_until(lambda: len(_up_targets(url)) >= 3, 60, "prometheus to scrape the api and worker pods", 1)
        yield url
    finally:
        targets.stopped.set()
        process.stop()


def _up_targets(url: str) -> list[dict[str, Any]]:
    targets = requests.get(f"{url}/api/v1/targets", timeout=5).json()["data"]["activeTargets"]
    return [t for t in targets if t["health"] == "up"]


def query(url: str, expression: str) -> list[dict[str, Any]]:
    body = requests.get(f"{url}/api/v1/query", params={"query": expression}, timeout=10).json()
    assert body["status"] == "success", (expression, body)
    return list(body["data"]["result"])


def dashboard_queries() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    expressions = [target["expr"] for panel in panels for target in panel.get("targets", [])]
    for variable, value in GRAFANA_VARIABLES.items():
        expressions = [e.replace(variable, value) for e in expressions]
    return expressions


def traffic(api: Api, key: str) -> None:
    """What fills every panel: completions, a failed task, a 4xx, and a 429 from a burst."""
    ids = [submit(api, key, prompt=f"metrics {i}", max_tokens=8) for i in range(5)]
    ids.append(submit(api, key, prompt="d" * 1100, max_tokens=1))  # past the tiny model's context: fails
    for task_id in ids:
        wait_for_final(api, task_id, key, timeout=120)
    assert requests.get(api.url("/status/x"), timeout=5).status_code == 401
    body, headers = {"prompt": "b", "max_tokens": 1}, {"X-API-Key": key}
    burst = [requests.post(api.url("/generate"), headers=headers, json=body, timeout=10) for _ in range(30)]
    assert 429 in [response.status_code for response in burst]


def test_every_dashboard_query_returns_data_after_traffic(prometheus: str, api: Api, key: str) -> None:
    traffic(api, key)

    def empty() -> list[str]:
        return [e for e in dashboard_queries() if not query(prometheus, e)]

    # Prometheus sees the traffic at its next scrapes: every query answers within a minute, or names itself
    try:
        wait_until(lambda: empty() == [], 60, "every dashboard query to return data", interval=2)
    except TimeoutError:
        assert empty() == []
        raise


def test_the_no_worker_alert_fires_only_when_work_waits_without_a_worker(
    installed: LocalCluster, prometheus: str, api: Api, key: str
) -> None:
    # Given a worker for the model: the alert stays quiet
    assert firing(prometheus, NO_WORKER_ALERT) == []
    # When the model's workers are gone and a request waits
    deployment = f"{PREFIX}-worker-tiny"
    installed.kubectl("scale", "deployment", "-n", NAMESPACE, deployment, "--replicas=0")
    wait_until(lambda: installed.pods("app.kubernetes.io/component=worker") == [], 120, "no worker pods", 1)
    task_id = submit(api, key, prompt="waiting", max_tokens=2)
    # Then it fires, for that model
    fired = wait_until(lambda: firing(prometheus, NO_WORKER_ALERT), 90, "the alert to fire", interval=1)
    assert [alert["labels"]["model_name"] for alert in fired] == ["tiny"]
    # And when a worker is back and the queue drains, it stops
    installed.kubectl("scale", "deployment", "-n", NAMESPACE, deployment, "--replicas=1")
    assert wait_for_final(api, task_id, key, timeout=300)["status"] == "completed"
    wait_until(lambda: firing(prometheus, NO_WORKER_ALERT) == [], 90, "the alert to resolve", interval=1)


def firing(url: str, name: str) -> list[dict[str, Any]]:
    alerts = requests.get(f"{url}/api/v1/alerts", timeout=5).json()["data"]["alerts"]
    return [a for a in alerts if a["labels"]["alertname"] == name and a["state"] == "firing"]
