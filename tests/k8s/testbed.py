"""A Kubernetes control plane: etcd and a real kube-apiserver, with generated certificates and a kubeconfig.
On its own (on loopback) it has no kubelet, scheduler or controller-manager: objects are stored, validated
and admitted as on a real cluster, but no pod ever runs. tests/cluster adds a node to it (then it listens
on the node's address, where pods can reach it).

The binaries come from scripts/ensure_k8s_tools.sh (built from their Go modules, cached outside the
clone). Run it by hand to keep a control plane up for poking at: `python -m tests.k8s.testbed`.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path

import requests

from tests.support.stack import ROOT, Process, free_port, wait_until

from .kube import Kube

ADMIN = "testbed-admin"


def tools_bin() -> Path:
    """Builds the tools the first time (minutes), then only finds them; returns their directory."""
    result = subprocess.run([str(ROOT / "scripts" / "ensure_k8s_tools.sh")], check=True, capture_output=True, text=True)
    return Path(result.stdout.strip().splitlines()[-1])


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


# The names pods use for the API server (its Service's first address and DNS names).
IN_CLUSTER_NAMES = "IP:10.96.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc"


def make_certificates(folder: Path, address: str = "127.0.0.1") -> None:
    """A CA; a serving certificate for the address (and the in-cluster names); an admin client certificate
    in system:masters; and the key pair that signs service-account tokens."""
    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=testbed-ca",
        "-keyout",
        f"{folder}/ca.key",
        "-out",
        f"{folder}/ca.crt",
    )
    for name, subject, extensions in [
        (
            "server",
            "/CN=kube-apiserver",
            f"subjectAltName=IP:{address},IP:127.0.0.1,DNS:localhost,{IN_CLUSTER_NAMES}\nextendedKeyUsage=serverAuth",
        ),
        ("admin", f"/O=system:masters/CN={ADMIN}", "extendedKeyUsage=clientAuth"),
    ]:
        (folder / f"{name}.ext").write_text(extensions + "\n")
        key, request, certificate = (f"{folder}/{name}.{suffix}" for suffix in ("key", "csr", "crt"))
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout", key, "-out", request)
        openssl(
            "x509",
            "-req",
            "-in",
            request,
            "-CA",
            f"{folder}/ca.crt",
            "-CAkey",
            f"{folder}/ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            f"{folder}/{name}.ext",
            "-out",
            certificate,
        )
    openssl("genrsa", "-out", f"{folder}/sa.key", "2048")
    openssl("rsa", "-in", f"{folder}/sa.key", "-pubout", "-out", f"{folder}/sa.pub")


def kubeconfig(folder: Path, server: str) -> str:
    return f"""apiVersion: v1
kind: Config
clusters:
- name: testbed
  cluster: {{server: "{server}", certificate-authority: "{folder}/ca.crt"}}
users:
- name: admin
  user: {{client-certificate: "{folder}/admin.crt", client-key: "{folder}/admin.key"}}
contexts:
- name: testbed
  context: {{cluster: testbed, user: admin, namespace: default}}
current-context: testbed
"""


class TestBed:
    """Start with start(), stop with stop(); `kubeconfig` and `bin` are what clients need."""

    __test__ = False  # not a pytest test class

    def __init__(self, workdir: Path, address: str = "127.0.0.1") -> None:
        self.workdir = workdir
        self.bin = tools_bin()
        self.address = address
        self.port = free_port()
        self.server = f"https://{address}:{self.port}"
        self.kubeconfig = workdir / "kubeconfig"
        self.processes: list[Process] = []

    def start(self) -> TestBed:
        make_certificates(self.workdir, self.address)
        self.kubeconfig.write_text(kubeconfig(self.workdir, self.server))
        etcd_url = self._start_etcd()
        self._start_apiserver(etcd_url)
        return self

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()

    def helm(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        home = str(self.workdir / "helm")  # keeps the user's own helm settings and repositories out of it
        env = {
            **os.environ,
            "KUBECONFIG": str(self.kubeconfig),
            "HELM_CACHE_HOME": home,
            "HELM_CONFIG_HOME": home,
            "HELM_DATA_HOME": home,
        }
        return subprocess.run([str(self.bin / "helm"), *args], env=env, check=check, capture_output=True, text=True)

    def _start_etcd(self) -> str:
        client, peer = f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"
        command = [
            str(self.bin / "etcd"),
            "--name",
            "testbed",
            "--data-dir",
            str(self.workdir / "etcd"),
            "--listen-client-urls",
            client,
            "--advertise-client-urls",
            client,
            "--listen-peer-urls",
            peer,
            "--initial-advertise-peer-urls",
            peer,
            "--initial-cluster",
            f"testbed={peer}",
            "--unsafe-no-fsync",
            "--log-level",
            "warn",
        ]
        self.processes.append(Process("etcd", command, dict(os.environ), self.workdir))
        wait_until(lambda: answers(f"{client}/health"), 30, "etcd")
        return client

    def _start_apiserver(self, etcd_url: str) -> None:
        folder = self.workdir
        command = [
            str(self.bin / "kube-apiserver"),
            "--etcd-servers",
            etcd_url,
            "--bind-address",
            self.address,
            "--advertise-address",
            self.address,
            "--secure-port",
            str(self.port),
            "--tls-cert-file",
            f"{folder}/server.crt",
            "--tls-private-key-file",
            f"{folder}/server.key",
            "--client-ca-file",
            f"{folder}/ca.crt",
            "--authorization-mode",
            "RBAC",
            "--service-account-issuer",
            "https://kubernetes.default.svc",
            "--service-account-key-file",
            f"{folder}/sa.pub",
            "--service-account-signing-key-file",
            f"{folder}/sa.key",
            "--service-cluster-ip-range",
            "10.96.0.0/16",
            "--cert-dir",
            f"{folder}/apiserver-certs",
            *self._node_flags(),
            "--enable-priority-and-fairness=false",
            "--profiling=false",
            "-v",
            "0",
        ]
        process = Process("kube-apiserver", command, dict(os.environ), self.workdir)
        self.processes.append(process)
        session = Kube(self.server, folder).session

        def ready() -> bool:
            assert process.alive(), f"kube-apiserver exited:\n{process.tail()}"
            return answers(f"{self.server}/readyz", session) and answers(
                f"{self.server}/api/v1/namespaces/default", session
            )

        wait_until(ready, 120, "kube-apiserver /readyz", interval=0.5)

    def _node_flags(self) -> list[str]:
        if self.address == "127.0.0.1":
            return ["--endpoint-reconciler-type", "none"]  # a loopback address may not be an endpoint
        # logs, exec and port-forward: the API server calls the kubelet at the node's address, as admin
        folder = self.workdir
        return [
            "--kubelet-preferred-address-types",
            "InternalIP",
            "--kubelet-client-certificate",
            f"{folder}/admin.crt",
            "--kubelet-client-key",
            f"{folder}/admin.key",
        ]


def answers(url: str, session: requests.Session | None = None) -> bool:
    try:
        return (session or requests).get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        bed = TestBed(Path(folder)).start()
        print(f"export KUBECONFIG={bed.kubeconfig}  # helm is {bed.bin / 'helm'}; Ctrl-C stops it")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            bed.stop()
