"""The few Kubernetes calls the operator makes, on the official client, with plain dicts in and out."""

from __future__ import annotations

import base64
from typing import Any, cast

from kubernetes import client, config

GROUP, VERSION, PLURAL = "llm-service.io", "v1alpha1", "llmmodels"
# Two field managers split a Deployment's fields: the reconciler owns everything but replicas, the
# autoscaler owns replicas, so neither's server-side apply undoes the other's.
RECONCILER, AUTOSCALER = "llm-operator", "llm-autoscaler"
APPLY = "application/apply-patch+yaml"


def connect() -> None:
    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config()


def serialized(obj: Any) -> dict[str, Any]:
    """A client model object (V1Deployment, ...) as the JSON-shaped dict the API server sent."""
    return client.ApiClient().sanitize_for_serialization(obj)  # type: ignore[no-any-return]


def get_deployment(namespace: str, name: str) -> dict[str, Any] | None:
    try:
        return serialized(client.AppsV1Api().read_namespaced_deployment(name, namespace))
    except client.ApiException as error:
        if error.status == 404:
            return None
        raise


def apply_deployment(body: dict[str, Any]) -> None:
    meta = body["metadata"]
    client.AppsV1Api().patch_namespaced_deployment(
        meta["name"], meta["namespace"], body, field_manager=RECONCILER, force=True, _content_type=APPLY
    )


def scale_deployment(namespace: str, name: str, replicas: int) -> None:
    body = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"replicas": replicas},
    }
    client.AppsV1Api().patch_namespaced_deployment(
        name, namespace, body, field_manager=AUTOSCALER, force=True, _content_type=APPLY
    )


def delete_deployment(namespace: str, name: str) -> None:
    try:
        client.AppsV1Api().delete_namespaced_deployment(name, namespace)
    except client.ApiException as error:
        if error.status != 404:
            raise


def get_model(namespace: str, name: str) -> dict[str, Any] | None:
    try:
        found = client.CustomObjectsApi().get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
    except client.ApiException as error:
        if error.status == 404:
            return None
        raise
    return cast(dict[str, Any], found)


def secret_value(namespace: str, name: str, key: str) -> str | None:
    try:
        secret = client.CoreV1Api().read_namespaced_secret(name, namespace)
    except client.ApiException as error:
        if error.status == 404:
            return None
        raise
    encoded = (secret.data or {}).get(key)
    return base64.b64decode(encoded).decode() if encoded is not None else None
