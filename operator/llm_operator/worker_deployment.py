"""The worker Deployment one LLMModel asks for: a pure function of the resource and the operator's template.

Replicas are left out on purpose: the autoscaler owns them (under its own field manager), so applying
this never undoes a scaling decision, and a changed spec rolls the pods without resizing them.
"""

from __future__ import annotations

import copy
from typing import Any

from .config import OperatorConfig

MODEL_LABEL = "llm-service.io/model"
MANAGED_BY = {"app.kubernetes.io/managed-by": "llm-operator", "app.kubernetes.io/component": "worker"}
READY_FILE = "/tmp/worker-ready"  # written by the worker (WORKER_READY_FILE) on the /tmp volume
DEFAULT_SECURITY = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
}
DEFAULT_POD_SECURITY = {
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "runAsGroup": 10001,
    "fsGroup": 10001,
    "seccompProfile": {"type": "RuntimeDefault"},
}


def deployment_name(config: OperatorConfig, model_name: str) -> str:
    return f"{config.name_prefix}-model-{model_name}"


def served_name(model: dict[str, Any]) -> str:
    return str(model["spec"].get("servedModelName") or model["metadata"]["name"])


def build(model: dict[str, Any], config: OperatorConfig) -> dict[str, Any]:
    name = model["metadata"]["name"]
    template = config.worker_template
    labels = {**template.get("labels", {}), **MANAGED_BY, MODEL_LABEL: name}
    pod: dict[str, Any] = {
        "securityContext": template.get("podSecurityContext", DEFAULT_POD_SECURITY),
        "automountServiceAccountToken": False,
        "containers": [_container(model, config)],
        "volumes": [_tmp_volume(template), template.get("modelVolume", {"name": "models", "emptyDir": {}})],
    }
    spec = model["spec"]
    if spec.get("nodeSelector"):
        pod["nodeSelector"] = spec["nodeSelector"]
    if spec.get("tolerations"):
        pod["tolerations"] = spec["tolerations"]
    if template.get("imagePullSecrets"):
        pod["imagePullSecrets"] = template["imagePullSecrets"]
    time_limit = float(spec.get("generation", {}).get("taskTimeLimit", 120))
    pod["terminationGracePeriodSeconds"] = int(time_limit) + 30  # in-flight requests finish or go back
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": deployment_name(config, name),
            "namespace": model["metadata"]["namespace"],
            "labels": labels,
            "ownerReferences": [_owner(model)],
        },
        "spec": {
            "selector": {"matchLabels": {MODEL_LABEL: name, **MANAGED_BY}},
            "template": {"metadata": {"labels": labels}, "spec": pod},
        },
    }


def _container(model: dict[str, Any], config: OperatorConfig) -> dict[str, Any]:
    spec, template = model["spec"], config.worker_template
    container: dict[str, Any] = {
        "name": "worker",
        "image": spec.get("image") or config.worker_image,
        "args": ["python", "-m", "workers"],
        "ports": [{"name": "metrics", "containerPort": config.worker_metrics_port, "protocol": "TCP"}],
        "env": [*copy.deepcopy(template.get("env", [])), *_model_env(model, config), *spec.get("env", [])],
        "resources": _resources(spec.get("resources", {})),
        "securityContext": template.get("securityContext", DEFAULT_SECURITY),
        # Ready once the model is loaded and tasks are taken; not Ready from the first moment of a drain.
        "readinessProbe": {"exec": {"command": ["test", "-e", READY_FILE]}, "periodSeconds": 2},
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}, {"name": "models", "mountPath": "/models"}],
    }
    if template.get("envFrom"):
        container["envFrom"] = template["envFrom"]
    if template.get("imagePullPolicy"):  # the chart's image.pullPolicy, as its own workers have
        container["imagePullPolicy"] = template["imagePullPolicy"]
    return container


def _model_env(model: dict[str, Any], config: OperatorConfig) -> list[dict[str, str]]:
    spec = model["spec"]
    backend = spec.get("backend", "transformers")
    values = {
        "MODEL_BACKEND": backend,
        "MODEL_TASK": spec.get("task", "generate"),
        "MODEL_NAME": spec["model"],
        "SERVED_MODEL_NAME": served_name(model),
        "MAX_BATCH_SIZE": str(spec.get("maxBatchSize", 32)),
        "OFFLINE_SLOTS": str(spec.get("offlineSlots", 8)),
        "WORKER_METRICS_HOST": "0.0.0.0",
        "WORKER_METRICS_PORT": str(config.worker_metrics_port),
        "HF_HOME": "/models/huggingface",
        "WORKER_READY_FILE": READY_FILE,
    }
    if "taskTimeLimit" in spec.get("generation", {}):
        values["TASK_TIME_LIMIT"] = str(spec["generation"]["taskTimeLimit"])
    return [{"name": key, "value": value} for key, value in values.items()]


def _resources(wanted: dict[str, Any]) -> dict[str, Any]:
    requests: dict[str, Any] = {}
    limits: dict[str, Any] = {}
    if wanted.get("cpu"):
        requests["cpu"] = str(wanted["cpu"])
    if wanted.get("memory"):
        requests["memory"] = limits["memory"] = str(wanted["memory"])
    if wanted.get("gpus"):
        limits["nvidia.com/gpu"] = str(wanted["gpus"])
    return {key: value for key, value in (("requests", requests), ("limits", limits)) if value}


def _owner(model: dict[str, Any]) -> dict[str, Any]:
    """Deleted with its LLMModel by the cluster's garbage collector (the operator also deletes it itself)."""
    return {
        "apiVersion": model["apiVersion"],
        "kind": model["kind"],
        "name": model["metadata"]["name"],
        "uid": model["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _tmp_volume(template: dict[str, Any]) -> dict[str, Any]:
    """/tmp (logs, the ready file), bounded when the chart says how much it may hold (a pod past it is evicted,
    so the logs are rotated well within it)."""
    limit = template.get("tmpSizeLimit")
    return {"name": "tmp", "emptyDir": {"sizeLimit": limit} if limit else {}}
