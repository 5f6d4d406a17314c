"""The worker Deployment built from one LLMModel and the operator's config: a pure function, checked field by field."""

from __future__ import annotations

from typing import Any

import pytest
from llm_operator.config import OperatorConfig
from llm_operator.worker_deployment import build


def config(**overrides: Any) -> OperatorConfig:
    """Every field the tests depend on is given, so OPERATOR_* variables in the environment cannot leak in."""
    fields: dict[str, Any] = {
        "worker_image": "img:1",
        "name_prefix": "llm",
        "worker_template": {},
        "worker_metrics_port": 9191,
    }
    return OperatorConfig(**{**fields, **overrides})


def llm_model(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "llm-service.io/v1alpha1",
        "kind": "LLMModel",
        "metadata": {"name": "m1", "namespace": "ns", "uid": "u-1"},
        "spec": {"model": "org/m", **spec},
    }


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return dict(containers[0])


def pod(deployment: dict[str, Any]) -> dict[str, Any]:
    return dict(deployment["spec"]["template"]["spec"])


def env(deployment: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item["value"] for item in container(deployment)["env"]}


def test_name_namespace_and_owner() -> None:
    deployment = build(llm_model(), config())

    assert deployment["apiVersion"] == "apps/v1"
    assert deployment["kind"] == "Deployment"
    assert deployment["metadata"]["name"] == "llm-model-m1"
    assert deployment["metadata"]["namespace"] == "ns"
    assert deployment["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "llm-service.io/v1alpha1",
            "kind": "LLMModel",
            "name": "m1",
            "uid": "u-1",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]


def test_the_name_prefix_comes_from_the_config() -> None:
    assert build(llm_model(), config(name_prefix="other"))["metadata"]["name"] == "other-model-m1"


def test_replicas_are_left_to_the_autoscaler() -> None:
    spec = build(llm_model(minReplicas=2, maxReplicas=4), config())["spec"]

    assert "replicas" not in spec


def test_the_selector_matches_the_pod_labels() -> None:
    deployment = build(llm_model(), config())

    selector = deployment["spec"]["selector"]["matchLabels"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]

    assert selector.items() <= labels.items()
    assert selector["llm-service.io/model"] == "m1"


@pytest.mark.parametrize(
    ("spec", "served"),
    [
        pytest.param({}, "m1", id="resource-name"),
        pytest.param({"servedModelName": "pretty-name"}, "pretty-name", id="servedModelName"),
    ],
)
def test_model_env(spec: dict[str, Any], served: str) -> None:
    variables = env(build(llm_model(maxBatchSize=64, **spec), config()))

    assert variables["MODEL_NAME"] == "org/m"
    assert variables["SERVED_MODEL_NAME"] == served
    assert variables["MAX_BATCH_SIZE"] == "64"


@pytest.mark.parametrize(("spec", "task"), [({}, "generate"), ({"task": "embed"}, "embed")])
def test_what_the_model_is_for_reaches_the_worker(spec: dict[str, Any], task: str) -> None:
    assert env(build(llm_model(**spec), config()))["MODEL_TASK"] == task


def test_max_batch_size_has_a_default() -> None:
    assert env(build(llm_model(), config()))["MAX_BATCH_SIZE"] == "32"


@pytest.mark.parametrize(("spec", "slots"), [({}, "8"), ({"offlineSlots": 0}, "0"), ({"offlineSlots": 24}, "24")])
def test_offline_slots_reach_the_worker(spec: dict[str, Any], slots: str) -> None:
    assert env(build(llm_model(**spec), config()))["OFFLINE_SLOTS"] == slots


@pytest.mark.parametrize("port", [9191, 9300])
def test_the_metrics_port_is_read_from_the_config(port: int) -> None:
    deployment = build(llm_model(), config(worker_metrics_port=port))

    assert env(deployment)["WORKER_METRICS_PORT"] == str(port)
    assert [entry["containerPort"] for entry in container(deployment)["ports"]] == [port]


@pytest.mark.parametrize(
    ("spec", "image"),
    [
        pytest.param({}, "img:1", id="config-image"),
        pytest.param({"image": "custom:2"}, "custom:2", id="spec-image"),
    ],
)
def test_the_image(spec: dict[str, Any], image: str) -> None:
    assert container(build(llm_model(**spec), config()))["image"] == image


@pytest.mark.parametrize(
    ("wanted", "resources"),
    [
        pytest.param({}, {}, id="none"),
        pytest.param(
            {"cpu": "8", "memory": "48Gi", "gpus": 1},
            {"requests": {"cpu": "8", "memory": "48Gi"}, "limits": {"memory": "48Gi", "nvidia.com/gpu": "1"}},
            id="all",
        ),
        pytest.param({"cpu": 2}, {"requests": {"cpu": "2"}}, id="cpu-only"),
        pytest.param({"gpus": 2}, {"limits": {"nvidia.com/gpu": "2"}}, id="gpus-only"),
        pytest.param(
            {"gpus": 0, "memory": "1Gi"}, {"requests": {"memory": "1Gi"}, "limits": {"memory": "1Gi"}}, id="no-gpu"
        ),
    ],
)
def test_resources(wanted: dict[str, Any], resources: dict[str, Any]) -> None:
    assert container(build(llm_model(resources=wanted), config()))["resources"] == resources


def test_node_selector_and_tolerations_are_passed_through() -> None:
    selector = {"nvidia.com/gpu.present": "true"}
    tolerations = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]

    spec = pod(build(llm_model(nodeSelector=selector, tolerations=tolerations), config()))

    assert spec["nodeSelector"] == selector
    assert spec["tolerations"] == tolerations


def test_no_node_selector_or_tolerations_unless_asked() -> None:
    spec = pod(build(llm_model(), config()))

    assert "nodeSelector" not in spec
    assert "tolerations" not in spec


@pytest.mark.parametrize(
    ("generation", "grace", "time_limit_env"),
    [
        pytest.param({}, 150, None, id="default-120"),
        pytest.param({"taskTimeLimit": 300}, 330, "300", id="300"),
        pytest.param({"taskTimeLimit": 45.5}, 75, "45.5", id="fractional"),
    ],
)
def test_the_grace_period_outlasts_a_task(generation: dict[str, Any], grace: int, time_limit_env: str | None) -> None:
    deployment = build(llm_model(generation=generation), config())

    assert pod(deployment)["terminationGracePeriodSeconds"] == grace
    assert env(deployment).get("TASK_TIME_LIMIT") == time_limit_env


def test_the_template_labels_env_and_env_from_are_merged() -> None:
    # Given
    template = {
        "labels": {"team": "ml"},
        "env": [{"name": "SHARED", "value": "t"}, {"name": "OVERRIDDEN", "value": "template"}],
        "envFrom": [{"secretRef": {"name": "hf-token"}}],
    }
    model = llm_model(env=[{"name": "OVERRIDDEN", "value": "model"}, {"name": "OWN", "value": "m"}])

    # When
    deployment = build(model, config(worker_template=template))

    # Then
    assert deployment["metadata"]["labels"]["team"] == "ml"
    assert deployment["spec"]["template"]["metadata"]["labels"]["team"] == "ml"
    assert deployment["metadata"]["labels"]["llm-service.io/model"] == "m1"
    worker = container(deployment)
    assert worker["envFrom"] == [{"secretRef": {"name": "hf-token"}}]
    names = [item["name"] for item in worker["env"]]
    assert names[:2] == ["SHARED", "OVERRIDDEN"]
    assert names[-2:] == ["OVERRIDDEN", "OWN"]  # the model's own env last: it wins for a repeated name
    assert "MODEL_NAME" in names[2:-2]
    assert env(deployment)["OVERRIDDEN"] == "model"


def test_building_leaves_the_template_untouched() -> None:
    template = {"env": [{"name": "SHARED", "value": "t"}]}
    settings = config(worker_template=template)

    deployment = build(llm_model(), settings)
    container(deployment)["env"][0]["value"] = "changed"

    assert settings.worker_template["env"] == [{"name": "SHARED", "value": "t"}]


def test_no_env_from_unless_the_template_has_one() -> None:
    assert "envFrom" not in container(build(llm_model(), config()))


def test_secure_defaults_when_the_template_sets_none() -> None:
    deployment = build(llm_model(), config())

    assert pod(deployment)["securityContext"]["runAsNonRoot"] is True
    assert pod(deployment)["automountServiceAccountToken"] is False
    security = container(deployment)["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}


def test_the_template_security_contexts_replace_the_defaults() -> None:
    template = {
        "podSecurityContext": {"runAsUser": 1234},
        "securityContext": {"readOnlyRootFilesystem": False},
    }

    deployment = build(llm_model(), config(worker_template=template))

    assert pod(deployment)["securityContext"] == {"runAsUser": 1234}
    assert container(deployment)["securityContext"] == {"readOnlyRootFilesystem": False}


def test_a_read_only_root_still_has_a_writable_tmp_and_model_folder() -> None:
    deployment = build(llm_model(), config())

    mounts = {mount["mountPath"]: mount["name"] for mount in container(deployment)["volumeMounts"]}
    volumes = {volume["name"] for volume in pod(deployment)["volumes"]}
    assert mounts == {"/tmp": "tmp", "/models": "models"}
    assert set(mounts.values()) <= volumes
    assert env(deployment)["HF_HOME"].startswith("/models/")


def test_ready_once_the_worker_writes_its_ready_file() -> None:
    deployment = build(llm_model(), config())
    probe = container(deployment)["readinessProbe"]["exec"]["command"]
    assert probe == ["test", "-e", env(deployment)["WORKER_READY_FILE"]]
    assert env(deployment)["WORKER_READY_FILE"].startswith("/tmp/")  # the writable volume


def test_the_pull_policy_comes_from_the_template_when_it_has_one() -> None:
    assert "imagePullPolicy" not in container(build(llm_model(), config()))
    pulled = build(llm_model(), config(worker_template={"imagePullPolicy": "Never"}))
    assert container(pulled)["imagePullPolicy"] == "Never"


def test_tmp_is_bounded_when_the_chart_says_how_much_it_may_hold() -> None:
    bounded = build(llm_model(), config(worker_template={"tmpSizeLimit": "1Gi"}))
    assert {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}} in pod(bounded)["volumes"]
    assert {"name": "tmp", "emptyDir": {}} in pod(build(llm_model(), config()))["volumes"]
