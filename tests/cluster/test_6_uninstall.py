"""`helm uninstall` removes every pod and object of the release but what the README says stays: the
Redis and model-cache volumes' claims and the LLMModel CRD."""

from __future__ import annotations

from tests.support.stack import wait_until

from .cluster import NAMESPACE, PREFIX, RELEASE, LocalCluster

# Made by Kubernetes itself in every namespace, or by the test bed (the model volume's claim).
NOT_THE_RELEASES = {"configmap/kube-root-ca.crt", "serviceaccount/default", "persistentvolumeclaim/llm-models"}
STAYS = {f"persistentvolumeclaim/data-{PREFIX}-redis-0"}  # the README says why


def everything(cluster: LocalCluster, namespaced: bool) -> set[str]:
    """kind/name of every object in the namespace, or of every cluster-wide object labelled with the release."""
    kinds = cluster.kubectl("api-resources", "--verbs=list", f"--namespaced={str(namespaced).lower()}", "-o", "name")
    wanted = ",".join(k for k in kinds.split() if not k.startswith("events") and k != "componentstatuses")
    scope = ["--namespace", NAMESPACE] if namespaced else ["--selector", f"app.kubernetes.io/instance={RELEASE}"]
    names = set()
    for line in cluster.kubectl("get", wanted, *scope, "-o", "name").split():
        kind, name = line.split("/", 1)  # deployment.apps/x -> deployment/x
        names.add(f"{kind.split('.')[0]}/{name}")
    return names


def test_uninstall_leaves_only_what_the_readme_says(installed: LocalCluster) -> None:
    installed.helm("uninstall", RELEASE, "--namespace", NAMESPACE, "--wait", "--timeout", "5m")
    wait_until(lambda: installed.pods() == [], 180, "every pod to go", interval=1)
    left = everything(installed, namespaced=True) - NOT_THE_RELEASES
    assert left == STAYS
    assert everything(installed, namespaced=False) == set()
    assert installed.kube.exists("apiextensions.k8s.io/v1", "CustomResourceDefinition", "llmmodels.llm-service.io", "")
