"""A one-node Kubernetes cluster on this machine, with the chart installed from images built from this
checkout: the test bed of tests/cluster, and `make cluster` for trying the service by hand.

Run by hand: `python -m tests.cluster.cluster` starts it, installs the chart, prints how to reach the api
and the generated key, and removes everything it made on Ctrl-C.
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.k8s.kube import Kube, is_ready
from tests.k8s.testbed import TestBed
from tests.support.stack import ROOT, Process, free_port, wait_until

from . import images
from .host_state import HostState
from .node import CONTAINERD_ROOT, NODE_ADDRESS, Node, add_node_address

CHART = ROOT / "helm" / "llm-service"
LOCAL_VALUES = Path(__file__).parent / "values-local.yaml"
MODEL_FOLDER = "tiny-random-gpt2"  # inside the model volume, as values-local.yaml names it
RELEASE = "llm-service"  # the chart then names its objects llm-service-*
NAMESPACE = "llm"
PREFIX = RELEASE
# The chart's pods with values-local.yaml, by their component label.
COMPONENTS = {"api": 2, "redis": 1, "operator": 1, "worker": 1}


class LocalCluster:
    __test__ = False

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.host: HostState | None = None
        self.bed: TestBed | None = None
        self.node: Node | None = None
        self.images = images.Images()
        self.timings: dict[str, float] = {}

    def start(self) -> LocalCluster:
        started = time.monotonic()
        self.host = HostState.take([self.workdir, CONTAINERD_ROOT])
        try:
            add_node_address()
            self.bed = TestBed(self.workdir, NODE_ADDRESS).start()
            self.node = Node(self.bed).start()
            self.images = images.prepare(self.node, self.bed.bin)
            self.node.start_kubernetes()
        except BaseException:
            self.stop()
            raise
        self.timings["cluster start (images included)"] = round(time.monotonic() - started, 1)
        return self

    def stop(self) -> list[str]:
        """Removes every pod, stops every part, and returns what could not be put back on the host."""
        if self.node:
            self.node.stop()
        if self.bed:
            self.bed.stop()
        return self.host.restore() if self.host else []

    @property
    def kube(self) -> Kube:
        assert self.bed
        return Kube(self.bed.server, self.bed.workdir)

    def kubectl(self, *args: str, check: bool = True) -> str:
        assert self.bed
        env = {**os.environ, "KUBECONFIG": str(self.bed.kubeconfig)}
        result = subprocess.run([str(self.bed.bin / "kubectl"), *args], env=env, capture_output=True, text=True)
        if check and result.returncode:
            raise RuntimeError(f"kubectl {' '.join(args)}: {result.stderr.strip()}")
        return result.stdout

    def helm(self, *args: str) -> str:
        assert self.bed
        return self.bed.helm(*args).stdout

    def volume(self, name: str, claim: str, size: str = "8Gi") -> Path:
        """A hostPath PersistentVolume bound in advance to `claim` in NAMESPACE (no provisioner here)."""
        folder = self.workdir / "volumes" / name
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o777)  # hostPath ignores fsGroup; the pods run as a non-root user
        self.kube.create(
            {
                "apiVersion": "v1",
                "kind": "PersistentVolume",
                "metadata": {"name": name},
                "spec": {
                    "capacity": {"storage": size},
                    "accessModes": ["ReadWriteOnce"],
                    "persistentVolumeReclaimPolicy": "Retain",
                    "storageClassName": "",
                    "hostPath": {"path": str(folder), "type": "Directory"},
                    "claimRef": {"namespace": NAMESPACE, "name": claim},
                },
            },
            namespace="",
        )
        return folder

    def install(self, model: Path, *extra: str) -> None:
        """The chart with values-local.yaml: Redis on a volume, the tiny model in a model volume."""
        assert self.bed
        self.kube.apply_crds(sorted((self.bed.bin / "crds").glob("*.yaml")))  # ServiceMonitor, PrometheusRule
        self.kube.ensure_namespace(NAMESPACE)
        self.volume("llm-redis-data", f"data-{PREFIX}-redis-0")
        models = self.volume("llm-models", "llm-models")
        subprocess.run(["cp", "-r", str(model), str(models / MODEL_FOLDER)], check=True)
        subprocess.run(["chmod", "-R", "a+rwX", str(models)], check=True)
        self.kube.create(
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": "llm-models"},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "storageClassName": "",
                    "volumeName": "llm-models",
                    "resources": {"requests": {"storage": "8Gi"}},
                },
            },
            namespace=NAMESPACE,
        )
        values = ["--values", str(LOCAL_VALUES), *self.images.chart_values(), *extra]
        self.helm("install", RELEASE, str(CHART), "--namespace", NAMESPACE, *values)

    def upgrade_images(self, suffix: str) -> None:
        """`helm upgrade` to new tags of the same images, waiting for the rollout."""
        assert self.node
        self.images.retag(self.node, suffix)
        values = ["--reuse-values", *self.images.chart_values(), "--wait", "--timeout", "10m"]
        self.helm("upgrade", RELEASE, str(CHART), "--namespace", NAMESPACE, *values)

    def wait_all_ready(self, timeout: float = 600) -> None:
        """Every component's pods Ready, each through its own probe."""
        for component, count in COMPONENTS.items():
            self.wait_ready(f"app.kubernetes.io/component={component}", count, timeout)

    def api_url(self) -> str:
        """The api Service at its cluster address: kube-proxy balances it over the api pods from the node as
        from any pod, also while they roll (a port-forward follows one pod and ends with it)."""
        service = self.kube.get("v1", "Service", f"{PREFIX}-api", NAMESPACE)
        return f"http://{service['spec']['clusterIP']}:{service['spec']['ports'][0]['port']}"

    def pods(self, labels: str = "") -> list[dict[str, Any]]:
        return self.kube.list("v1", "Pod", NAMESPACE, labels)

    def wait_ready(self, labels: str, count: int, timeout: float) -> list[dict[str, Any]]:
        """Waits until `count` pods with these labels are Ready (and none is terminating)."""

        def ready() -> list[dict[str, Any]] | None:
            pods = [p for p in self.pods(labels) if not p["metadata"].get("deletionTimestamp")]
            return pods if len(pods) == count and all(is_ready(p) for p in pods) else None

        try:
            return wait_until(ready, timeout, f"{count} Ready pods with {labels}", interval=1)
        except TimeoutError as error:
            raise TimeoutError(f"{error}\n{self.kubectl('get', 'pods', '-A', '-o', 'wide', check=False)}") from None

    def api_key(self) -> str:
        secret = self.kube.get("v1", "Secret", f"{PREFIX}-api-keys", NAMESPACE)
        return base64.b64decode(secret["data"]["api-keys"]).decode().split(",")[0]

    def port_forward(self, service: str, port: int) -> tuple[Process, str]:
        """`kubectl port-forward` to a Service, on loopback; returns the process and the base URL."""
        assert self.bed
        local = free_port()
        command = [str(self.bed.bin / "kubectl"), "--kubeconfig", str(self.bed.kubeconfig), "--namespace", NAMESPACE]
        command += ["port-forward", f"service/{service}", f"{local}:{port}", "--address", "127.0.0.1"]
        process = Process(f"port-forward-{service}-{local}", command, dict(os.environ), self.workdir)
        wait_until(lambda: "Forwarding from" in process.tail(), 30, f"port-forward to {service}")
        return process, f"http://127.0.0.1:{local}"

    def diagnostics(self) -> str:
        """Pods, events, and every container's logs (also the previous life's): what a failure needs."""
        parts = [self.kubectl("get", "pods", "-A", "-o", "wide", check=False)]
        parts.append(self.kubectl("get", "events", "-A", "--sort-by=.lastTimestamp", check=False))
        for pod in self.kube.list("v1", "Pod", NAMESPACE):
            name = pod["metadata"]["name"]
            for previous in ("--previous=false", "--previous=true"):
                logs = self.kubectl(
                    "logs", "-n", NAMESPACE, name, "--all-containers", previous, "--tail=60", check=False
                )
                parts.append(f"==== {name} {previous}\n{logs}")
        return "\n".join(parts)


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt  # SIGTERM cleans up as Ctrl-C does


def main() -> None:
    from workers.model_builder import build

    with tempfile.TemporaryDirectory(prefix="llm-cluster-") as folder:
        cluster = LocalCluster(Path(folder))
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            print("starting the cluster and building the images (the first time: about 6 minutes)", flush=True)
            cluster.start()
            cluster.install(build(Path(folder) / "model", seed=0))
            cluster.wait_all_ready()
            _, url = cluster.port_forward(f"{PREFIX}-api", 80)
            assert cluster.bed
            print(
                f"""
The api:      {url}   (key: {cluster.api_key()})
  curl -s {url}/generate -H 'X-API-Key: {cluster.api_key()}' -H 'Content-Type: application/json' \\
       -d '{{"prompt": "Hello", "max_tokens": 16}}'
kubectl:      export KUBECONFIG={cluster.bed.kubeconfig}; {cluster.bed.bin / "kubectl"} -n {NAMESPACE} get pods
Ctrl-C removes the cluster and puts the host back.""",
                flush=True,
            )
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            problems = cluster.stop()
            print("removed" + (f"; not put back: {problems}" if problems else ""), flush=True)


if __name__ == "__main__":
    main()
