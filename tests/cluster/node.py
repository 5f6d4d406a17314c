"""One Kubernetes node on this machine: containerd (runc), the kubelet, kube-proxy, CoreDNS, and the
controller-manager and scheduler that make Deployments into pods, around the control plane of tests/k8s.

The node has an address of its own on a veth interface (the kubelet refuses a loopback one); pods get
addresses on a CNI bridge. Every setting below that differs from a stock node is one this sandbox forces,
named where it is set. Everything the node changes on the host is put back by stop() (host_state.py).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO

from tests.k8s.kube import Kube, is_ready
from tests.k8s.testbed import TestBed, openssl
from tests.support.stack import Process, free_port, wait_until

from .host_state import run

NODE_NAME = "llm-node"
NODE_LINK = "llm-node0"
NODE_ADDRESS = "10.213.0.1"  # on NODE_LINK, one end of a veth pair made here and removed at the end
POD_SUBNET = "10.244.0.0/24"
CNI_BRIDGE = "llm-cni0"
CNI_PLUGINS = Path("/usr/lib/cni")
PAUSE_IMAGE = "localhost/llm-testbed-pause:1"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "llm-service"
# Images imported once stay for the next run: the worker image alone is several GB.
CONTAINERD_ROOT = CACHE / "containerd-root"


class Node:
    """start() the node beside a started TestBed; stop() removes every pod and puts the host back."""

    def __init__(self, bed: TestBed) -> None:
        self.bed = bed
        self.folder = bed.workdir / "node"
        self.socket = self.folder / "containerd.sock"
        self.processes: list[Process] = []

    def start(self) -> Node:
        """containerd only: images can be imported before the kubelet asks for them."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self._start("containerd", ["containerd", "--config", str(self._containerd_config())])
        wait_until(lambda: self.ctr("version", check=False) != "", 30, "containerd")
        return self

    def start_kubernetes(self) -> None:
        """After the pause image is imported (images.py): the rest of the node."""
        kube = Kube(self.bed.server, self.bed.workdir)
        bin_ = self.bed.bin
        config = str(self.bed.kubeconfig)
        self._start("coredns", [str(bin_ / "coredns"), "-conf", str(self._corefile()), "-dns.port", "53"])
        common = ["--kubeconfig", config, "--leader-elect=false", "--bind-address", "127.0.0.1"]
        self._start("kube-scheduler", [str(bin_ / "kube-scheduler"), *common])
        self._start(
            "kube-controller-manager",
            [
                str(bin_ / "kube-controller-manager"),
                *common,
                "--service-account-private-key-file",
                f"{self.bed.workdir}/sa.key",
                "--root-ca-file",
                f"{self.bed.workdir}/ca.crt",
                "--use-service-account-credentials",
            ],
        )
        self._start("kube-proxy", [str(bin_ / "kube-proxy"), "--config", str(self._kube_proxy_config())])
        self._start(
            "kubelet",
            [
                str(bin_ / "kubelet"),
                "--config",
                str(self._kubelet_config()),
                "--kubeconfig",
                config,
                "--root-dir",
                str(self.folder / "kubelet"),
                "--hostname-override",
                NODE_NAME,
                "--node-ip",
                NODE_ADDRESS,
                "--v",
                "1",
            ],
        )

        def node_ready() -> bool:
            for process in self.processes:
                assert process.alive(), f"{process.name} exited:\n{process.tail()}"
            return kube.exists("v1", "Node", NODE_NAME, "") and is_ready(kube.get("v1", "Node", NODE_NAME, ""))

        wait_until(node_ready, 120, "the node to be Ready", interval=1)

    def ctr(self, *args: str, check: bool = True, stdin_from: IO[bytes] | None = None) -> str:
        command = ["ctr", "--address", str(self.socket), "--namespace", "k8s.io", *args]
        return run(*command, check=check, stdin_from=stdin_from)

    def stop(self) -> None:
        """Stops the pods and every part (the host's own settings are put back by the caller)."""
        by_name = {p.name: p for p in self.processes}
        for name in ("kube-controller-manager", "kube-scheduler"):  # nothing recreates the pods below
            if name in by_name:
                by_name[name].stop()
        if "kubelet" in by_name and by_name["kubelet"].alive():
            self._remove_pods()
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()

    def _remove_pods(self) -> None:
        """Deletes every pod at once and lets the kubelet tear down their sandboxes (CNI DEL, unmounts)."""
        kube = Kube(self.bed.server, self.bed.workdir)
        for pod in kube.request("GET", "/api/v1/pods")["items"]:
            meta = pod["metadata"]
            path = f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}"
            kube.request("DELETE", path, json={"gracePeriodSeconds": 0})
        try:
            wait_until(lambda: not self.ctr("tasks", "list", "-q", check=False).strip(), 60, "pods gone", 1)
        except TimeoutError:
            for task in self.ctr("tasks", "list", "-q", check=False).split():
                self.ctr("tasks", "kill", "-s", "SIGKILL", task, check=False)

    def _start(self, name: str, command: list[str]) -> Process:
        process = Process(name, command, dict(os.environ), self.folder)
        self.processes.append(process)
        return process

    def _containerd_config(self) -> Path:
        CONTAINERD_ROOT.mkdir(parents=True, exist_ok=True)
        cni = self.folder / "cni"
        cni.mkdir(exist_ok=True)
        (cni / "10-llm.conflist").write_text(json.dumps(self._cni_network()))
        path = self.folder / "containerd.toml"
        path.write_text(f"""version = 2
root = "{CONTAINERD_ROOT}"
state = "{self.folder}/containerd-state"
[grpc]
  address = "{self.socket}"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{PAUSE_IMAGE}"
  # the kernel here refuses the oom_score_adj of -998 that the CRI gives sandboxes
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{CNI_PLUGINS}"
    conf_dir = "{cni}"
""")
        return path

    def _cni_network(self) -> dict[str, object]:
        return {
            "cniVersion": "1.0.0",
            "name": "llm-testbed",
            "plugins": [
                {
                    "type": "bridge",
                    "bridge": CNI_BRIDGE,
                    "isGateway": True,
                    "hairpinMode": True,
                    "ipam": {
                        "type": "host-local",
                        "ranges": [[{"subnet": POD_SUBNET}]],
                        "routes": [{"dst": "0.0.0.0/0"}],
                        "dataDir": str(self.folder / "cni-ipam"),
                    },
                },
                {"type": "portmap", "capabilities": {"portMappings": True}},
            ],
        }

    def _corefile(self) -> Path:
        path = self.folder / "Corefile"
        path.write_text(f""".:53 {{
    bind {NODE_ADDRESS}
    kubernetes cluster.local in-addr.arpa ip6.arpa {{
        kubeconfig {self.bed.kubeconfig} testbed
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }}
    cache 5
}}
""")
        return path

    def _kube_proxy_config(self) -> Path:
        path = self.folder / "kube-proxy.yaml"
        path.write_text(f"""apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection: {{kubeconfig: "{self.bed.kubeconfig}"}}
hostnameOverride: {NODE_NAME}
bindAddress: {NODE_ADDRESS}
clusterCIDR: {POD_SUBNET}
nodePortAddresses: ["{NODE_ADDRESS}/32"]
healthzBindAddress: "127.0.0.1:{free_port()}"
metricsBindAddress: "127.0.0.1:{free_port()}"
# replies from a pod on the same bridge come back through the host, so no br_netfilter is needed
iptables: {{masqueradeAll: true}}
conntrack: {{maxPerCore: 0}}  # leave the host's conntrack table size alone
""")
        return path

    def _kubelet_config(self) -> Path:
        self._kubelet_certificate()
        path = self.folder / "kubelet.yaml"
        path.write_text(f"""apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# this sandbox: cgroup v1 (hybrid), no systemd, swap may be on
failCgroupV1: false
cgroupDriver: cgroupfs
failSwapOn: false
containerRuntimeEndpoint: unix://{self.socket}
address: {NODE_ADDRESS}
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 0
tlsCertFile: {self.folder}/kubelet.crt
tlsPrivateKeyFile: {self.folder}/kubelet.key
authentication:
  anonymous: {{enabled: false}}
  webhook: {{enabled: true}}
  x509: {{clientCAFile: {self.bed.workdir}/ca.crt}}
authorization: {{mode: Webhook}}
clusterDomain: cluster.local
clusterDNS: [{NODE_ADDRESS}]
resolvConf: ""
# a shared disk that is often more than 85 % full: never evict pods or delete images for it
evictionHard: {{memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1%}}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
""")
        return path

    def _kubelet_certificate(self) -> None:
        folder, ca = self.folder, self.bed.workdir
        (folder / "kubelet.ext").write_text(f"subjectAltName=IP:{NODE_ADDRESS},DNS:{NODE_NAME}\n")
        key, request, certificate = (f"{folder}/kubelet.{suffix}" for suffix in ("key", "csr", "crt"))
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={NODE_NAME}", "-keyout", key, "-out", request)
        signing = ["-CA", f"{ca}/ca.crt", "-CAkey", f"{ca}/ca.key", "-CAcreateserial", "-days", "2"]
        openssl("x509", "-req", "-in", request, *signing, "-extfile", f"{folder}/kubelet.ext", "-out", certificate)


def add_node_address() -> None:
    """The interface that carries the node's address; removed with the host state at the end. A veth pair,
    as this kernel has no dummy interfaces; both ends up, so the address has a carrier."""
    if NODE_LINK not in run("ip", "-o", "link", "show"):
        run("ip", "link", "add", NODE_LINK, "type", "veth", "peer", "name", f"{NODE_LINK}-peer")
    run("ip", "addr", "replace", f"{NODE_ADDRESS}/32", "dev", NODE_LINK)
    for link in (NODE_LINK, f"{NODE_LINK}-peer"):
        run("ip", "link", "set", link, "up")
