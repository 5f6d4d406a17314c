"""The operator for real: Kopf running `llm_operator.handlers` against the test bed's API server and a
real redis-server; LLMModel resources in, worker Deployments, replicas, Events and the api's model
registry out."""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
import yaml
from dramatiq.brokers.redis import RedisBroker

from contract import model_registry, tenants
from contract.dramatiq_internals import enqueue_task
from contract.names import offline_queue_name, queue_name
from contract.tenants import Limits, Priority
from tests.support.stack import API_KEY, ROOT, Process, RedisServer, free_port, sample, scrape, start_api, wait_until

from .kube import Kube, KubeError
from .testbed import TestBed

NAMESPACE = "operator-test"
MODELS = "llm-service.io/v1alpha1"
CHART_CRDS = ROOT / "helm" / "llm-service" / "crds"


def deployment_of(model: str) -> str:
    return f"llm-service-model-{model}"


def start_operator(testbed: TestBed, redis_url: str, workdir: Path) -> Process:
    env = {
        **os.environ,
        "KUBECONFIG": str(testbed.kubeconfig),
        "REDIS_URL": redis_url,
        "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'operator'}",
        "OPERATOR_SCALE_INTERVAL": "0.5",
        "OPERATOR_REPUBLISH_INTERVAL": "1",
        "OPERATOR_METRICS_PORT": str(free_port()),
        "OPERATOR_WORKER_IMAGE": "worker:test",
        "OPERATOR_ALLOWED_IMAGES": "worker:",  # the GPU model's worker:cuda
    }
    command = [
        sys.executable,
        "-m",
        "kopf",
        "run",
        "--standalone",
        "--namespace",
        NAMESPACE,
        "-m",
        "llm_operator.handlers",
    ]
    process = Process(f"operator-{time.monotonic_ns()}", command, env, workdir)
    process.metrics_url = f"http://127.0.0.1:{env['OPERATOR_METRICS_PORT']}/metrics"
    return process


@pytest.fixture(scope="module")
def queue_redis(testbed: TestBed) -> Iterator[RedisServer]:
    """The operator's own Redis: one test stops it."""
    server = RedisServer(testbed.workdir).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def operator(testbed: TestBed, kube: Kube, queue_redis: RedisServer) -> Iterator[Process]:
    kube.apply_crds(sorted(CHART_CRDS.glob("*.yaml")))
    kube.ensure_namespace(NAMESPACE)
    process = start_operator(testbed, queue_redis.url(), testbed.workdir)
    yield process
    process.stop()


def apply_model(kube: Kube, name: str, **spec: Any) -> dict[str, Any]:
    body = {"apiVersion": MODELS, "kind": "LLMModel", "metadata": {"name": name, "namespace": NAMESPACE}, "spec": spec}
    return kube.create(body, namespace=NAMESPACE)


def deployment(kube: Kube, model: str) -> dict[str, Any] | None:
    return kube.find("apps/v1", "Deployment", deployment_of(model), NAMESPACE)


def container(found: dict[str, Any]) -> dict[str, Any]:
    return found["spec"]["template"]["spec"]["containers"][0]  # type: ignore[no-any-return]


def env(found: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item.get("value", "") for item in container(found)["env"]}


def replicas(kube: Kube, model: str) -> int:
    found = deployment(kube, model)
    return -1 if found is None else int(found["spec"].get("replicas", 0))


def enqueue(redis_url: str, served_name: str, count: int, offline: bool = False) -> None:
    broker = RedisBroker(url=redis_url)
    for index in range(count):
        enqueue_task(broker, served_name, f"t{index}", offline=offline)
    broker.close()


def drain(redis_url: str, served_name: str, offline: bool = False) -> None:
    client = redis.Redis.from_url(redis_url)
    queue = offline_queue_name(served_name) if offline else queue_name(served_name)
    client.delete(f"dramatiq:{queue}", f"dramatiq:{queue}.msgs")


def test_a_model_becomes_a_worker_deployment_with_its_fields(kube: Kube, operator: Process) -> None:
    model = apply_model(
        kube,
        "gpu",
        model="meta-llama/Llama-3.1-8B-Instruct",
        servedModelName="llama-8b",
        image="worker:cuda",
        resources={"gpus": 1, "cpu": "4", "memory": "48Gi"},
        nodeSelector={"gpu": "h100"},
        tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists"}],
        env=[{"name": "KV_CACHE_MEMORY_FRACTION", "value": "0.85"}],
        generation={"taskTimeLimit": 300},
        minReplicas=0,
        maxReplicas=3,
        targetQueueLength=2,
        scaleDownDelaySeconds=3,
    )
    found = wait_until(lambda: deployment(kube, "gpu"), 30, "the worker Deployment", interval=0.2)
    assert container(found)["image"] == "worker:cuda" and container(found)["args"] == ["python", "-m", "workers"]
    assert {
        "MODEL_NAME": "meta-llama/Llama-3.1-8B-Instruct",
        "SERVED_MODEL_NAME": "llama-8b",
        "TASK_TIME_LIMIT": "300",
        "KV_CACHE_MEMORY_FRACTION": "0.85",
    }.items() <= env(found).items()
    assert container(found)["resources"]["limits"]["nvidia.com/gpu"] == "1"
    pod = found["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"gpu": "h100"} and pod["tolerations"][0]["key"] == "nvidia.com/gpu"
    assert found["metadata"]["ownerReferences"][0]["uid"] == model["metadata"]["uid"]
    assert wait_until(lambda: replicas(kube, "gpu") == 0, 10, "replicas at the floor (0)")


def test_a_spec_change_rolls_the_deployment(kube: Kube, operator: Process) -> None:
    before = wait_until(lambda: deployment(kube, "gpu"), 30, "the worker Deployment")
    kube.patch(MODELS, "LLMModel", "gpu", {"spec": {"model": "meta-llama/Llama-3.2-1B"}}, NAMESPACE)

    def rolled() -> dict[str, Any] | None:
        found = deployment(kube, "gpu")
        return found if found and env(found)["MODEL_NAME"] == "meta-llama/Llama-3.2-1B" else None

    after = wait_until(rolled, 30, "the new model in the pod template")
    assert after["metadata"]["generation"] > before["metadata"]["generation"]  # a new template: pods roll


def test_a_hand_edited_deployment_is_repaired(kube: Kube, operator: Process) -> None:
    wait_until(lambda: deployment(kube, "gpu"), 30, "the worker Deployment")
    edit = {"spec": {"template": {"spec": {"containers": [{"name": "worker", "image": "someone-else:latest"}]}}}}
    kube.patch("apps/v1", "Deployment", deployment_of("gpu"), edit, NAMESPACE, patch_type="strategic-merge")
    wait_until(lambda: container(deployment(kube, "gpu") or {})["image"] == "worker:cuda", 30, "the image restored")


def test_replicas_follow_queue_depth_up_at_once_and_down_after_the_delay(
    kube: Kube, operator: Process, queue_redis: RedisServer
) -> None:
    # 5 requests at 2 per replica: ceil(5 / 2) = 3 replicas, the maximum
    enqueue(queue_redis.url(), "llama-8b", 5)
    wait_until(lambda: replicas(kube, "gpu") == 3, 30, "3 replicas")
    wait_until(
        lambda: kube.get(MODELS, "LLMModel", "gpu", NAMESPACE).get("status", {}).get("queueDepth") == 5,
        10,
        "the queue depth in the status",
    )
    status = kube.get(MODELS, "LLMModel", "gpu", NAMESPACE)["status"]
    assert status["desiredReplicas"] == 3
    events = kube.list("v1", "Event", NAMESPACE)
    assert any(e["reason"] == "ScaledUp" and e["involvedObject"]["name"] == "gpu" for e in events)
    # Drained: replicas stay for scaleDownDelaySeconds (3 s), then go to zero
    drained_at = time.monotonic()
    drain(queue_redis.url(), "llama-8b")
    wait_until(lambda: replicas(kube, "gpu") == 0, 30, "scale to zero")
    assert time.monotonic() - drained_at >= 3
    assert "operator_scale_events_total" in requests.get(operator.metrics_url, timeout=5).text


def test_kubectl_scale_on_the_model_sets_replicas_until_the_autoscaler_decides(kube: Kube, operator: Process) -> None:
    assert replicas(kube, "gpu") == 0
    scale = {"spec": {"replicas": 2}}
    kube.request(
        "PATCH",
        kube.path(MODELS, "LLMModel", NAMESPACE, "gpu") + "/scale",
        json=scale,
        headers={"Content-Type": "application/merge-patch+json"},
    )
    wait_until(lambda: replicas(kube, "gpu") == 2, 10, "the scaled count", interval=0.1)
    # Nothing is queued: after scaleDownDelaySeconds the autoscaler takes it back to the floor
    wait_until(lambda: replicas(kube, "gpu") == 0, 30, "back to zero")


def autoscale_runs(operator: Process, model: str) -> float:
    return sample(scrape(operator.metrics_url), "llm_service:operator_autoscale_runs_total", model_name=model)


def test_batch_lines_wake_a_model_at_zero_to_one_replica_and_no_more(
    kube: Kube, operator: Process, queue_redis: RedisServer
) -> None:
    assert replicas(kube, "gpu") == 0
    # 10 lines, with targetQueueLength 2, would ask for 3 replicas (its max) were they interactive
    enqueue(queue_redis.url(), "llama-8b", 10, offline=True)
    wait_until(lambda: replicas(kube, "gpu") == 1, 30, "one replica for the batch lines", interval=0.1)
    # four more autoscaler decisions, each of them one replica, not the three the lines would ask for
    runs = autoscale_runs(operator, "llama-8b")
    wait_until(lambda: autoscale_runs(operator, "llama-8b") >= runs + 4, 30, "four more autoscaler runs")
    assert replicas(kube, "gpu") == 1
    drain(queue_redis.url(), "llama-8b", offline=True)
    wait_until(lambda: replicas(kube, "gpu") == 0, 30, "back to zero once no line waits")


def create_key_secret(kube: Kube, name: str, keys: str) -> None:
    """A Secret holding API keys (comma-separated) under `keys`, as LLMModel and LLMTenant resources name them."""
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": NAMESPACE}}
    kube.create({**secret, "stringData": {"keys": keys}}, namespace=NAMESPACE)


def test_keys_restricted_to_a_model_are_enforced_by_the_api(
    kube: Kube, operator: Process, queue_redis: RedisServer, workdir: Path, model_settings: dict[str, object]
) -> None:
    # Given a Secret with a key, and a model that only that key may use
    create_key_secret(kube, "team-a", "team-a-key-0001")
    apply_model(kube, "private", model="Qwen/Qwen2.5-0.5B-Instruct", apiKeys=[{"secretName": "team-a", "key": "keys"}])
    client = redis.Redis.from_url(queue_redis.url(), decode_responses=True)
    wait_until(lambda: "private" in model_registry.read(client), 30, "the model in the registry")
    api = start_api(workdir, queue_redis.url(), api_keys=API_KEY, **model_settings)
    try:

        def post(key: str) -> requests.Response:
            return requests.post(
                api.url("/generate"), headers={"X-API-Key": key}, timeout=10, json={"prompt": "hi", "model": "private"}
            )

        # Then its key may use it (though no worker runs: the request waits), another valid key gets 403
        assert post("team-a-key-0001").status_code == 202
        refused = post(API_KEY)
        assert refused.status_code == 403 and refused.json()["field"] == "model"
        assert post("not-a-key-at-all").status_code == 401
        # And when the model opens to every key, the api sees it without a restart
        kube.patch(MODELS, "LLMModel", "private", {"spec": {"apiKeys": []}}, NAMESPACE)
        wait_until(lambda: post(API_KEY).status_code == 202, 30, "the model open to every key")
    finally:
        api.stop()


def test_an_operator_restart_resumes_without_duplicates(
    testbed: TestBed, kube: Kube, operator: Process, queue_redis: RedisServer
) -> None:
    wait_until(lambda: deployment(kube, "private"), 30, "the second model's Deployment")
    before = {d["metadata"]["name"]: d["metadata"]["uid"] for d in kube.list("apps/v1", "Deployment", NAMESPACE)}
    operator.stop()
    second = start_operator(testbed, queue_redis.url(), testbed.workdir)
    try:
        enqueue(queue_redis.url(), "llama-8b", 1)  # proof the new one works: it scales from zero
        wait_until(lambda: replicas(kube, "gpu") == 1, 60, "the restarted operator to scale")
        after = {d["metadata"]["name"]: d["metadata"]["uid"] for d in kube.list("apps/v1", "Deployment", NAMESPACE)}
        assert after == before  # the same objects, none added
    finally:
        drain(queue_redis.url(), "llama-8b")
        # The fixture stops whichever runs, and later tests read the one that runs
        operator.popen, operator.output, operator.metrics_url = second.popen, second.output, second.metrics_url


def test_an_embedding_model_is_registered_as_one_and_its_workers_told(
    kube: Kube, operator: Process, queue_redis: RedisServer
) -> None:
    apply_model(kube, "embedder", model="BAAI/bge-small-en-v1.5", task="embed")
    client = redis.Redis.from_url(queue_redis.url(), decode_responses=True)
    registered = wait_until(lambda: model_registry.read(client).get("embedder"), 30, "the model in the registry")
    assert registered.task == "embed"  # the api refuses generation on it by name (tests/api/test_embeddings.py)
    found = wait_until(lambda: deployment(kube, "embedder"), 30, "its Deployment")
    assert env(found)["MODEL_TASK"] == "embed"
    kube.delete(MODELS, "LLMModel", "embedder", NAMESPACE)
    wait_until(lambda: not kube.exists(MODELS, "LLMModel", "embedder", NAMESPACE), 30, "the finalizer released")


@pytest.mark.parametrize(
    ("asked", "words"),
    [
        ({"image": "evil.example.com/miner:1"}, "spec.image"),
        ({"env": [{"name": "REDIS_URL", "value": "redis://elsewhere:6379/0"}]}, "spec.env may not set 'REDIS_URL'"),
    ],
    ids=["image", "env"],
)
def test_a_model_asking_for_what_it_may_not_is_refused_with_a_condition(
    kube: Kube, operator: Process, asked: dict[str, Any], words: str
) -> None:
    name = f"refused-{next(iter(asked))}"
    apply_model(kube, name, model="org/m", **asked)

    def condition() -> dict[str, Any] | None:
        conditions = kube.get(MODELS, "LLMModel", name, NAMESPACE).get("status", {}).get("conditions", [])
        return next((c for c in conditions if c["type"] == "Refused"), None)

    found = wait_until(condition, 30, "the Refused condition")
    assert words in found["message"] and deployment(kube, name) is None
    kube.delete(MODELS, "LLMModel", name, NAMESPACE)
    wait_until(lambda: not kube.exists(MODELS, "LLMModel", name, NAMESPACE), 30, "the model gone")


def test_a_served_name_another_model_owns_is_refused_with_a_condition(
    kube: Kube, operator: Process, queue_redis: RedisServer
) -> None:
    # Given a model serving "shared"
    apply_model(kube, "owner", model="Qwen/Qwen2.5-0.5B-Instruct", servedModelName="shared")
    client = redis.Redis.from_url(queue_redis.url(), decode_responses=True)
    wait_until(lambda: deployment(kube, "owner"), 30, "the owner's Deployment")
    # When another model asks for the same served name
    apply_model(kube, "intruder", model="org/other", servedModelName="shared", apiKeys=[])

    def refused() -> dict[str, Any] | None:
        conditions = kube.get(MODELS, "LLMModel", "intruder", NAMESPACE).get("status", {}).get("conditions", [])
        return next((c for c in conditions if c["type"] == "NameConflict"), None)

    # Then it is not run, says why, and the owner's entry is untouched
    condition = wait_until(refused, 30, "the NameConflict condition")
    assert f"{NAMESPACE}/owner" in condition["message"] and deployment(kube, "intruder") is None
    assert model_registry.read(client)["shared"].resource == f"{NAMESPACE}/owner"
    # and deleting it leaves the owner registered
    kube.delete(MODELS, "LLMModel", "intruder", NAMESPACE)
    wait_until(lambda: not kube.exists(MODELS, "LLMModel", "intruder", NAMESPACE), 30, "the intruder gone")
    assert model_registry.read(client)["shared"].resource == f"{NAMESPACE}/owner"
    kube.delete(MODELS, "LLMModel", "owner", NAMESPACE)
    wait_until(lambda: "shared" not in model_registry.read(client), 30, "the owner unregistered")


def test_deleting_a_model_removes_its_deployment_and_registry_entry(
    kube: Kube, operator: Process, queue_redis: RedisServer
) -> None:
    kube.delete(MODELS, "LLMModel", "private", NAMESPACE)
    wait_until(lambda: deployment(kube, "private") is None, 30, "the Deployment gone")
    wait_until(lambda: not kube.exists(MODELS, "LLMModel", "private", NAMESPACE), 30, "the finalizer released")
    client = redis.Redis.from_url(queue_redis.url(), decode_responses=True)
    assert "private" not in model_registry.read(client)


def test_a_tenant_is_published_for_the_api_and_its_changes_apply_without_a_restart(
    kube: Kube, operator: Process, queue_redis: RedisServer, workdir: Path, model_settings: dict[str, object]
) -> None:
    # Given a Secret with two keys, and a tenant holding them with one request a minute
    create_key_secret(kube, "team-b", "team-b-key-1, team-b-key-2")
    spec = {
        "apiKeys": [{"secretName": "team-b", "key": "keys"}],
        "weight": 2,
        "priority": "interactive",
        "limits": {"requestsPerMinute": 1, "burst": 1, "maxInFlight": 5},
    }
    kube.create({"apiVersion": MODELS, "kind": "LLMTenant", "metadata": {"name": "team-b"}, "spec": spec}, NAMESPACE)
    client = redis.Redis.from_url(queue_redis.url(), decode_responses=True)
    # Then the operator publishes it, keys as digests
    published = wait_until(lambda: tenants.read(client).get("team-b"), 30, "the tenant in Redis")
    assert published.key_digests == sorted(model_registry.digest(f"team-b-key-{n}") for n in (1, 2))
    assert (published.weight, published.priority, published.resource) == (
        2.0,
        Priority.INTERACTIVE,
        f"{NAMESPACE}/team-b",
    )
    assert published.limits == Limits(requests_per_minute=1, burst=1, max_in_flight=5)
    assert kube.get(MODELS, "LLMTenant", "team-b", NAMESPACE)["status"]["keys"] == 2
    api = start_api(workdir, queue_redis.url(), api_keys=API_KEY, **model_settings)
    try:

        def post(key: str) -> int:
            body = {"prompt": "hi", "max_tokens": 4}
            return requests.post(api.url("/generate"), headers={"X-API-Key": key}, json=body, timeout=10).status_code

        # and the api takes its keys, which share its one request a minute
        assert [post("team-b-key-1"), post("team-b-key-2")] == [202, 429]
        # When its limits are raised in the cluster, the same api applies them
        kube.patch(
            MODELS, "LLMTenant", "team-b", {"spec": {"limits": {"requestsPerMinute": 100, "burst": 100}}}, NAMESPACE
        )
        wait_until(lambda: post("team-b-key-2") == 202, 30, "the raised limit applied")
        # and when the tenant is deleted, its keys are no longer valid
        kube.delete(MODELS, "LLMTenant", "team-b", NAMESPACE)
        wait_until(lambda: "team-b" not in tenants.read(client), 30, "the tenant withdrawn")
        wait_until(lambda: post("team-b-key-1") == 401, 10, "its keys refused")
        wait_until(lambda: not kube.exists(MODELS, "LLMTenant", "team-b", NAMESPACE), 30, "the finalizer released")
    finally:
        api.stop()


def test_a_key_rotated_in_its_secret_applies_to_tenant_and_model_without_any_resource_changing(
    kube: Kube, operator: Process, queue_redis: RedisServer
) -> None:
    # Given a tenant and a model naming the same Secret, both published with its key
    create_key_secret(kube, "team-c", "team-c-key-old")
    tenant = {"apiVersion": MODELS, "kind": "LLMTenant", "metadata": {"name": "team-c"}}
    kube.create({**tenant, "spec": {"apiKeys": [{"secretName": "team-c", "key": "keys"}]}}, NAMESPACE)
    apply_model(kube, "rotated", model="Qwen/Qwen2.5-0.5B-Instruct", apiKeys=[{"secretName": "team-c", "key": "keys"}])
    client = redis.Redis.from_url(queue_redis.url(), decode_responses=True)
    old, new = [model_registry.digest("team-c-key-old")], [model_registry.digest("team-c-key-new")]
    resources = [("LLMTenant", "team-c"), ("LLMModel", "rotated")]

    def digests() -> tuple[list[str] | None, list[str] | None]:
        published, registered = tenants.read(client).get("team-c"), model_registry.read(client).get("rotated")
        return (published.key_digests if published else None, registered.key_digests if registered else None)

    def generations() -> list[int]:
        return [kube.get(MODELS, kind, name, NAMESPACE)["metadata"]["generation"] for kind, name in resources]

    wait_until(lambda: digests() == (old, old), 30, "the tenant and the model published")
    before = generations()
    # When only the Secret changes (the operator's timers re-read it: every 1 s here, 30 s by default)
    kube.patch("v1", "Secret", "team-c", {"stringData": {"keys": "team-c-key-new"}}, NAMESPACE)
    # Then both carry the new key, and the old one no more, though neither resource's spec changed
    wait_until(lambda: digests() == (new, new), 30, "the rotated key published")
    assert generations() == before
    kube.delete(MODELS, "LLMTenant", "team-c", NAMESPACE)
    kube.delete(MODELS, "LLMModel", "rotated", NAMESPACE)
    wait_until(lambda: digests() == (None, None), 30, "both withdrawn")
    wait_until(lambda: deployment(kube, "rotated") is None, 30, "the model's Deployment gone")


@pytest.mark.parametrize(("field", "value"), [("priority", "urgent"), ("weight", 0), ("limits", {"tokensPerDay": 0})])
def test_an_invalid_tenant_is_refused_by_the_api_server(
    kube: Kube, operator: Process, field: str, value: object
) -> None:
    body = {"apiVersion": MODELS, "kind": "LLMTenant", "metadata": {"name": "bad"}, "spec": {field: value}}
    with pytest.raises(KubeError) as refused:
        kube.create(body, NAMESPACE, dry_run=True)
    assert refused.value.status == 422 and field in str(refused.value.body)


def test_redis_unreadable_holds_replicas_and_sets_a_condition(
    kube: Kube, operator: Process, queue_redis: RedisServer
) -> None:
    enqueue(queue_redis.url(), "llama-8b", 3)
    wait_until(lambda: replicas(kube, "gpu") == 2, 30, "2 replicas")
    queue_redis.stop()  # the last test of the module: the fixture's stop is then a no-op

    def condition() -> dict[str, Any] | None:
        status = kube.get(MODELS, "LLMModel", "gpu", NAMESPACE).get("status", {})
        found = [c for c in status.get("conditions", []) if c["type"] == "QueueReadable"]
        return found[0] if found and found[0]["status"] == "False" else None

    assert wait_until(condition, 30, "QueueReadable False")["reason"] == "RedisUnavailable"
    # Six more autoscaler runs per model that could not read the queue (0.5 s apart, so past the 3 s
    # scale-down delay): replicas were held through every one
    runs = 6 * len(kube.list(MODELS, "LLMModel", NAMESPACE))
    before = failed_queue_reads(operator)
    wait_until(lambda: failed_queue_reads(operator) >= before + runs, 30, f"{runs} more failed queue reads")
    assert replicas(kube, "gpu") == 2


def failed_queue_reads(operator: Process) -> float:
    text = requests.get(operator.metrics_url, timeout=5).text
    found = re.search(r"^llm_service:operator_redis_errors_total (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


@pytest.mark.parametrize("example", sorted((ROOT / "examples").glob("*.yaml")), ids=lambda path: path.name)
def test_every_example_is_accepted_by_the_api_server(kube: Kube, operator: Process, example: Path) -> None:
    # A namespace of their own: no object another test made (or is still deleting) shares a name with them
    kube.ensure_namespace("examples")
    for document in yaml.safe_load_all(example.read_text()):
        created = kube.create(document, namespace="examples", dry_run=True)
        assert created["metadata"]["name"] == document["metadata"]["name"]
