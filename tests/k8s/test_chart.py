"""The Helm chart against the real `helm` and a real kube-apiserver: lint, every option rendered and
validated by the server (strict, dry-run), and install / upgrade / uninstall."""

from __future__ import annotations

import base64
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from contract.redis_url import sentinel_url
from tests.support.stack import ROOT

from .kube import Kube, KubeError
from .testbed import TestBed

CHART = ROOT / "helm" / "llm-service"
OPTIONS = sorted(path.name.removesuffix("-values.yaml") for path in (CHART / "ci").glob("*-values.yaml"))


def render(testbed: TestBed, *args: str, namespace: str = "render") -> list[dict[str, Any]]:
    out = testbed.helm("template", "rel", str(CHART), "--namespace", namespace, *args).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [obj for obj in objects if obj["kind"] == kind]


def env_of(deployment: dict[str, Any]) -> dict[str, Any]:
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in container["env"]}


@pytest.fixture(scope="module")
def crds(testbed: TestBed, kube: Kube) -> None:
    """The chart's CRD, and the Prometheus Operator's real ones for ServiceMonitor and PrometheusRule."""
    kube.apply_crds([*(CHART / "crds").glob("*.yaml"), *(testbed.bin / "crds").glob("*.yaml")])


def test_chart_lints_clean_with_defaults_and_every_option(testbed: TestBed) -> None:
    for option in ["", *OPTIONS]:
        extra = ["--values", str(CHART / "ci" / f"{option}-values.yaml")] if option else []
        result = testbed.helm("lint", "--strict", str(CHART), *extra)
        assert "0 chart(s) failed" in result.stdout, result.stdout


@pytest.mark.parametrize("option", ["defaults", *OPTIONS])
def test_every_rendered_object_is_accepted_by_the_api_server(
    testbed: TestBed, kube: Kube, crds: None, option: str
) -> None:
    extra = [] if option == "defaults" else ["--values", str(CHART / "ci" / f"{option}-values.yaml")]
    namespace = f"render-{option}"
    objects = render(testbed, *extra, namespace=namespace)
    kube.ensure_namespace(namespace)
    rejected = []
    for obj in objects:
        try:
            kube.create(obj, namespace=namespace, dry_run=True)
        except KubeError as error:
            rejected.append(f"{obj['kind']}/{obj['metadata']['name']}: {error}")
    assert not rejected, "\n".join(rejected)
    assert by_kind(objects, "Deployment"), "nothing rendered"


def test_options_render_what_they_promise(testbed: TestBed) -> None:
    defaults = render(testbed)
    assert {o["kind"] for o in defaults} >= {"Deployment", "Service", "Secret", "StatefulSet", "ConfigMap"}
    assert not by_kind(defaults, "Ingress") and not by_kind(defaults, "HorizontalPodAutoscaler")
    operator = next(d for d in by_kind(defaults, "Deployment") if d["metadata"]["name"].endswith("-operator"))
    template = json.loads(env_of(operator)["OPERATOR_WORKER_TEMPLATE"].replace("$$(", "$("))
    # Its workers share the chart's Redis as its ACL user `worker` (their own password, by reference, expanded
    # in the worker; never the api's) and the settings
    worker_url = "redis://worker:$(REDIS_WORKER_PASSWORD)@rel-llm-service-redis:6379/0"
    assert {"name": "REDIS_URL", "value": worker_url} in template["env"]
    assert "REDIS_PASSWORD" not in json.dumps(template)
    assert template["envFrom"] == [{"configMapRef": {"name": "rel-llm-service-settings"}}]
    assert template["imagePullPolicy"] == "IfNotPresent"  # the chart's image.pullPolicy, for its workers too
    assert "$$(REDIS_WORKER_PASSWORD)" in env_of(operator)["OPERATOR_WORKER_TEMPLATE"]  # not expanded there
    # Redis declares that user with the rules in the chart's files/ (what the e2e tests' Redis declares too)
    redis_set = by_kind(defaults, "StatefulSet")[0]
    assert env_of(redis_set)["WORKER_ACL"] == (CHART / "files" / "redis-worker.acl").read_text().strip()
    assert "user worker on" in redis_set["spec"]["template"]["spec"]["containers"][0]["command"][2]
    secret = next(s for s in by_kind(defaults, "Secret") if s["metadata"]["name"] == "rel-llm-service-redis")
    assert set(secret["data"]) == {"redis-password", "redis-worker-password"}
    # The api's liveness asks only whether it answers; readiness whether it reaches Redis
    api_pod = next(d for d in by_kind(defaults, "Deployment") if d["metadata"]["name"] == "rel-llm-service-api")
    probes = api_pod["spec"]["template"]["spec"]["containers"][0]
    assert (probes["livenessProbe"]["httpGet"]["path"], probes["readinessProbe"]["httpGet"]["path"]) == (
        "/livez",
        "/health",
    )
    assert probes["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", "5"]  # routed connections get answers
    operator_probes = operator["spec"]["template"]["spec"]["containers"][0]
    assert operator_probes["readinessProbe"]["httpGet"] == operator_probes["livenessProbe"]["httpGet"]
    # A worker is Ready once its model is loaded: the probe tests for the file the worker writes then
    worker = next(d for d in by_kind(defaults, "Deployment") if "-worker-" in d["metadata"]["name"])
    container = worker["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["exec"]["command"] == ["test", "-e", env_of(worker)["WORKER_READY_FILE"]]

    ingress = by_kind(render(testbed, "--values", str(CHART / "ci" / "ingress-values.yaml")), "Ingress")[0]
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"] == [{"hosts": ["llm.test.example"], "secretName": "llm-tls"}]

    external = render(testbed, "--values", str(CHART / "ci" / "external-redis-values.yaml"))
    assert not by_kind(external, "StatefulSet") and not by_kind(external, "Secret")
    api = next(d for d in by_kind(external, "Deployment") if d["metadata"]["name"] == "rel-llm-service-api")
    assert env_of(api)["REDIS_URL"] == "rediss://:secret@redis.example.com:6380/0"
    assert env_of(api)["API_KEYS_FILE"] == "/etc/llm-service/api-keys"  # the Secret, mounted: keys rotate live
    keys = next(v for v in api["spec"]["template"]["spec"]["volumes"] if v["name"] == "api-keys")["secret"]
    assert keys == {"secretName": "my-keys", "items": [{"key": "api-keys", "path": "api-keys"}]}

    autoscaled = render(testbed, "--values", str(CHART / "ci" / "hpa-values.yaml"))
    assert by_kind(autoscaled, "HorizontalPodAutoscaler")[0]["spec"]["maxReplicas"] == 6
    api = next(d for d in by_kind(autoscaled, "Deployment") if d["metadata"]["name"].endswith("-api"))
    assert "replicas" not in api["spec"]  # the autoscaler owns it

    policies = by_kind(render(testbed, "--values", str(CHART / "ci" / "network-policy-values.yaml")), "NetworkPolicy")
    assert len(policies) == 3
    egress = next(p for p in policies if p["metadata"]["name"].endswith("-api-egress"))["spec"]["egress"]
    public = next(rule for rule in egress if "ports" in rule and "to" in rule)
    assert "169.254.0.0/16" in public["to"][0]["ipBlock"]["except"]  # never the metadata service
    assert [port["port"] for port in public["ports"]] == [80, 443]
    monitored = render(testbed, "--values", str(CHART / "ci" / "monitoring-values.yaml"))
    assert by_kind(monitored, "ServiceMonitor")[0]["metadata"]["labels"]["release"] == "prometheus"
    alerts = [r["alert"] for g in by_kind(monitored, "PrometheusRule")[0]["spec"]["groups"] for r in g["rules"]]
    assert alerts == ["LLMServiceErrorRateHigh", "LLMServiceQueueGrowing", "LLMServiceNoWorkerForQueuedModel"]


def test_redis_ha_runs_sentinels_that_every_part_goes_through(testbed: TestBed) -> None:
    objects = render(testbed, "--values", str(CHART / "ci" / "redis-ha-values.yaml"))
    # A StatefulSet of three Redis pods, each with a Sentinel, spread over nodes, on volumes, with a budget
    redis_set = by_kind(objects, "StatefulSet")[0]
    pod = redis_set["spec"]["template"]["spec"]
    assert redis_set["spec"]["replicas"] == 3 and [c["name"] for c in pod["containers"]] == ["redis", "sentinel"]
    assert pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    assert redis_set["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
    assert by_kind(objects, "PodDisruptionBudget")[-1]["spec"]["maxUnavailable"] == 1
    headless = next(s for s in by_kind(objects, "Service") if s["metadata"]["name"] == "rel-llm-service-redis-ha")
    assert headless["spec"]["clusterIP"] == "None" and headless["spec"]["publishNotReadyAddresses"] is True
    # Every process finds the primary through the three Sentinels; the api waits for one replica
    sentinels = ",".join(f"rel-llm-service-redis-{i}.rel-llm-service-redis-ha:26379" for i in range(3))
    url = f"redis+sentinel://:$(REDIS_PASSWORD)@{sentinels}/rel-llm-service"
    deployments = {d["metadata"]["name"]: d for d in by_kind(objects, "Deployment")}
    assert env_of(deployments["rel-llm-service-api"])["REDIS_URL"] == url
    assert env_of(deployments["rel-llm-service-api"])["REDIS_WAIT_REPLICAS"] == "1"
    operator = deployments["rel-llm-service-operator"]
    assert env_of(operator)["REDIS_URL"] == url
    template = json.loads(env_of(operator)["OPERATOR_WORKER_TEMPLATE"].replace("$$(", "$("))
    worker_url = url.replace(":$(REDIS_PASSWORD)", "worker:$(REDIS_WORKER_PASSWORD)")
    assert {"name": "REDIS_URL", "value": worker_url} in template["env"]
    # Each Redis and each Sentinel declares the workers' user
    scripts = by_kind(objects, "ConfigMap")
    ha_scripts = next(c for c in scripts if c["metadata"]["name"] == "rel-llm-service-redis-ha")["data"]
    assert "user worker on" in ha_scripts["redis.sh"] and "user worker on" in ha_scripts["sentinel.sh"]
    # And the settings the processes read accept that URL, naming the Sentinels and the service
    found = sentinel_url(url.replace("$(REDIS_PASSWORD)", "pw"))
    assert found is not None and len(found.hosts) == 3 and found.service == "rel-llm-service"


def test_redis_ha_refuses_impossible_numbers(testbed: TestBed) -> None:
    for flags, message in (
        (["--set", "redis.ha.quorum=4"], "quorum must not exceed"),
        (["--set", "redis.ha.waitReplicas=3"], "waitReplicas must be below"),
        (["--set", "redis.ha.replicas=2"], "minimum: got 2, want 3"),
        (["--set", "redis.persistence.enabled=false"], "needs redis.persistence.enabled"),
    ):
        result = testbed.helm("template", "rel", str(CHART), "--set", "redis.ha.enabled=true", *flags, check=False)
        assert result.returncode != 0 and message in result.stderr, result.stderr


def test_every_pod_runs_as_non_root_with_a_read_only_root(testbed: TestBed) -> None:
    objects = render(testbed, "--values", str(CHART / "ci" / "operator-gpu-values.yaml"))
    workloads = by_kind(objects, "Deployment") + by_kind(objects, "StatefulSet")
    assert len(workloads) == 5  # api, operator, two workers, redis
    for workload in workloads:
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        for container in pod["containers"]:
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            assert container["securityContext"]["allowPrivilegeEscalation"] is False


def test_values_schema_rejects_a_wrong_type_and_an_unknown_value(testbed: TestBed) -> None:
    wrong = testbed.helm("template", "rel", str(CHART), "--set", "api.replicas=two", check=False)
    assert wrong.returncode != 0
    assert "/api/replicas" in wrong.stderr and "want integer" in wrong.stderr
    typo = testbed.helm("template", "rel", str(CHART), "--set", "api.replica=2", check=False)
    assert typo.returncode != 0 and "replica" in typo.stderr and "additional properties" in typo.stderr.lower()


@pytest.fixture
def release(testbed: TestBed, kube: Kube) -> Iterator[str]:
    namespace = f"install-{int(time.time() * 1000)}"
    yield namespace
    testbed.helm("uninstall", "rel", "--namespace", namespace, check=False)


def secret_value(kube: Kube, name: str, namespace: str, key: str) -> str:
    return base64.b64decode(kube.get("v1", "Secret", name, namespace)["data"][key]).decode()


def test_install_upgrade_and_uninstall_on_the_api_server(testbed: TestBed, kube: Kube, release: str) -> None:
    # Install with defaults: the CRD is established, every object exists as asked
    installed = testbed.helm("install", "rel", str(CHART), "--namespace", release, "--create-namespace")
    assert "kubectl -n " + release + " port-forward svc/rel-llm-service-api 8000:80" in installed.stdout  # NOTES
    assert kube.established("llmmodels.llm-service.io") and kube.established("llmtenants.llm-service.io")
    role = kube.get("rbac.authorization.k8s.io/v1", "Role", "rel-llm-service-operator", release)
    watched = [rule for rule in role["rules"] if "llmtenants" in rule["resources"]]
    assert watched and {"list", "watch"} <= set(watched[0]["verbs"])  # the operator reconciles tenants
    api = kube.get("apps/v1", "Deployment", "rel-llm-service-api", release)
    assert api["spec"]["replicas"] == 2
    assert api["spec"]["template"]["spec"]["containers"][0]["image"] == "ghcr.io/llm-inference-service/api:1.0.0"
    worker = kube.get("apps/v1", "Deployment", "rel-llm-service-worker-default", release)
    assert env_of(worker)["SERVED_MODEL_NAME"] == "qwen2.5-0.5b-instruct"
    assert kube.get("apps/v1", "StatefulSet", "rel-llm-service-redis", release)["spec"]["volumeClaimTemplates"]
    for kind, name in [("Service", "api"), ("Service", "redis"), ("Secret", "redis"), ("ServiceAccount", "operator")]:
        assert kube.exists("v1", kind, f"rel-llm-service-{name}", release)
    role = kube.get("rbac.authorization.k8s.io/v1", "Role", "rel-llm-service-operator", release)
    assert {"deployments"} in [set(rule["resources"]) for rule in role["rules"]]
    assert kube.exists("rbac.authorization.k8s.io/v1", "RoleBinding", "rel-llm-service-operator", release)
    generated_key = secret_value(kube, "rel-llm-service-api-keys", release, "api-keys")
    assert len(generated_key) == 40

    # Upgrade with changed values: they change, and the generated API key survives
    testbed.helm(
        "upgrade",
        "rel",
        str(CHART),
        "--namespace",
        release,
        "--set",
        "api.replicas=3",
        "--set",
        "settings.rateLimitPerMinute=120",
    )
    assert kube.get("apps/v1", "Deployment", "rel-llm-service-api", release)["spec"]["replicas"] == 3
    settings = kube.get("v1", "ConfigMap", "rel-llm-service-settings", release)["data"]
    assert settings["RATE_LIMIT_PER_MINUTE"] == "120"
    assert (settings["MAX_QUEUE_LENGTH"], settings["CORS_ALLOWED_ORIGINS"]) == ("10000", "")
    assert secret_value(kube, "rel-llm-service-api-keys", release, "api-keys") == generated_key
    # Keys given in values replace it; turning the operator off removes its RBAC
    testbed.helm(
        "upgrade",
        "rel",
        str(CHART),
        "--namespace",
        release,
        "--set",
        "apiKeys.keys={key-one-1234,key-two-5678}",
        "--set",
        "operator.enabled=false",
    )
    assert secret_value(kube, "rel-llm-service-api-keys", release, "api-keys") == "key-one-1234,key-two-5678"
    assert not kube.exists("v1", "ServiceAccount", "rel-llm-service-operator", release)

    # Uninstall removes what it installed (the CRD stays, as Helm does for crds/)
    testbed.helm("uninstall", "rel", "--namespace", release)
    for api_version, kind, name in [
        ("apps/v1", "Deployment", "rel-llm-service-api"),
        ("apps/v1", "StatefulSet", "rel-llm-service-redis"),
        ("v1", "Secret", "rel-llm-service-api-keys"),
        ("v1", "ConfigMap", "rel-llm-service-settings"),
    ]:
        assert not kube.exists(api_version, kind, name, release)
    assert kube.established("llmmodels.llm-service.io")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"backend": "vllm"}, 'spec.backend: Unsupported value: "vllm"'),
        ({"minReplicas": 3, "maxReplicas": 1}, "minReplicas must not exceed maxReplicas"),
        ({"targetQueueLength": -1}, "spec.targetQueueLength: Invalid value: -1"),
        ({"model": ""}, "spec.model"),
    ],
)
def test_the_crd_rejects_a_bad_model_resource(kube: Kube, crds: None, spec: dict[str, Any], message: str) -> None:
    model = {"apiVersion": "llm-service.io/v1alpha1", "kind": "LLMModel", "metadata": {"name": "m"}}
    with pytest.raises(KubeError, match=message.replace("(", "\\(")) as rejected:
        kube.create({**model, "spec": {"model": "gpt2", **spec}}, dry_run=True)
    assert rejected.value.status == 422
    good = kube.create({**model, "spec": {"model": "gpt2"}}, dry_run=True)
    assert good["spec"]["backend"] == "transformers" and good["spec"]["minReplicas"] == 0  # defaults filled in


@pytest.mark.parametrize(
    ("sentinel_says", "primary"),
    [
        ("rel-llm-service-redis-1.rel-llm-service-redis-ha", "rel-llm-service-redis-1.rel-llm-service-redis-ha"),
        ("NOAUTH Authentication required.", "rel-llm-service-redis-0.rel-llm-service-redis-ha"),
        ("", "rel-llm-service-redis-0.rel-llm-service-redis-ha"),
    ],
)
def test_redis_ha_pods_ask_the_sentinels_for_the_primary(
    testbed: TestBed, tmp_path: Path, sentinel_says: str, primary: str
) -> None:
    # Given the start script the chart renders, and a redis-cli that answers as a Sentinel would
    objects = render(testbed, "--values", str(CHART / "ci" / "redis-ha-values.yaml"))
    scripts = next(c for c in by_kind(objects, "ConfigMap") if c["metadata"]["name"] == "rel-llm-service-redis-ha")
    (tmp_path / "primary.sh").write_text(scripts["data"]["primary.sh"])
    fake = tmp_path / "bin" / "redis-cli"
    fake.parent.mkdir()
    fake.write_text(f"#!/bin/sh\nprintf '%s\\n' '{sentinel_says}'\n")
    fake.chmod(0o755)
    env = {
        "PATH": f"{fake.parent}:/usr/bin:/bin",
        "REPLICAS": "3",
        "SERVICE": "rel-llm-service",
        "STATEFULSET": "rel-llm-service-redis",
        "HEADLESS": "rel-llm-service-redis-ha",
    }
    # When a pod starts, then it follows the primary the Sentinels name, or pod 0 when none names a host
    found = subprocess.run(["sh", str(tmp_path / "primary.sh")], env=env, capture_output=True, text=True, check=True)
    assert found.stdout.strip() == primary


def test_batch_and_webhook_settings_reach_the_api_and_the_workers(testbed: TestBed) -> None:
    defaults = render(testbed)
    api = next(d for d in by_kind(defaults, "Deployment") if d["metadata"]["name"] == "rel-llm-service-api")
    assert "WEBHOOK_SECRET" not in env_of(api)  # webhooks off unless a Secret is named
    settings = by_kind(defaults, "ConfigMap")[0]["data"]
    assert (settings["BATCH_MAX_OPEN"], settings["WEBHOOK_ALLOWED_HOSTS"]) == ("4", "")
    worker = next(d for d in by_kind(defaults, "Deployment") if "-worker-" in d["metadata"]["name"])
    assert env_of(worker)["OFFLINE_SLOTS"] == "8"

    configured = render(testbed, "--values", str(CHART / "ci" / "batch-webhooks-values.yaml"))
    settings = by_kind(configured, "ConfigMap")[0]["data"]
    assert settings["BATCH_MAX_FILE_BYTES"] == "1048576" and settings["BATCH_EXPIRY_SECONDS"] == "3600"
    assert settings["BATCH_MAX_STORED_BYTES"] == "268435456"  # the default, written as an integer
    assert settings["WEBHOOK_ALLOWED_HOSTS"] == "hooks.example.com,*.internal.example.com"
    api = next(d for d in by_kind(configured, "Deployment") if d["metadata"]["name"] == "rel-llm-service-api")
    assert env_of(api)["WEBHOOK_SECRET"] == {"secretKeyRef": {"name": "hooks", "key": "signing-key"}}
    workers = {
        d["metadata"]["name"]: env_of(d)
        for d in by_kind(configured, "Deployment")
        if "-worker-" in d["metadata"]["name"]
    }
    assert workers["rel-llm-service-worker-interactive"]["OFFLINE_SLOTS"] == "0"  # 0 is kept, not defaulted
    assert workers["rel-llm-service-worker-default"]["OFFLINE_SLOTS"] == "8"


def test_tenant_settings_reach_the_api(testbed: TestBed) -> None:
    defaults = render(testbed)
    api = next(d for d in by_kind(defaults, "Deployment") if d["metadata"]["name"] == "rel-llm-service-api")
    assert "ADMIN_API_KEYS" not in env_of(api)  # no admin key unless a Secret is named
    assert by_kind(defaults, "ConfigMap")[0]["data"]["FAIR_QUEUEING"] == "true"

    configured = render(testbed, "--set", "apiKeys.adminSecretName=admins", "--set", "settings.fairQueueing=false")
    api = next(d for d in by_kind(configured, "Deployment") if d["metadata"]["name"] == "rel-llm-service-api")
    assert env_of(api)["ADMIN_API_KEYS"] == {"secretKeyRef": {"name": "admins", "key": "admin-api-keys"}}
    assert by_kind(configured, "ConfigMap")[0]["data"]["FAIR_QUEUEING"] == "false"


def test_redis_refuses_writes_when_full_and_every_tmp_is_bounded(testbed: TestBed) -> None:
    for values in ([], ["--values", str(CHART / "ci" / "redis-ha-values.yaml")]):
        objects = render(testbed, *values)
        redis_set = by_kind(objects, "StatefulSet")[0]
        if len(redis_set["spec"]["template"]["spec"]["containers"]) == 1:  # one Redis: its command line
            command = " ".join(redis_set["spec"]["template"]["spec"]["containers"][0]["command"])
        else:  # with Sentinels: the configuration its script writes
            command = next(c for c in by_kind(objects, "ConfigMap") if c["metadata"]["name"].endswith("redis-ha"))
            command = command["data"]["redis.sh"]
        assert "maxmemory 768mb" in command.replace("--maxmemory ", "maxmemory ")
        assert "noeviction" in command
    deployments = {d["metadata"]["name"]: d for d in by_kind(render(testbed), "Deployment")}
    for name in ("rel-llm-service-api", "rel-llm-service-operator"):
        volumes = deployments[name]["spec"]["template"]["spec"]["volumes"]
        assert {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}} in volumes
    operator = deployments["rel-llm-service-operator"]
    assert json.loads(env_of(operator)["OPERATOR_WORKER_TEMPLATE"].replace("$$(", "$("))["tmpSizeLimit"] == "1Gi"
    settings = next(c for c in by_kind(render(testbed), "ConfigMap") if c["metadata"]["name"].endswith("-settings"))
    assert (settings["data"]["LOG_MAX_BYTES"], settings["data"]["LOG_BACKUPS"]) == ("52428800", "3")
