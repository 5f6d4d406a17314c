"""Kopf handlers: reconcile each LLMModel into its worker Deployment and registry entry, repair drift,
and size the Deployment from the model's Redis queue on a timer. (LLMTenant's are in tenant_handlers.py,
loaded from here.)

    kopf run --standalone --namespace NS -m llm_operator.handlers
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import kopf
import redis
from prometheus_client import start_http_server

from contract import model_registry
from contract.connections import make_redis
from contract.queue_depth import QueueDepth, queue_depth

from . import admission, api_keys, kube, metrics
from .config import load_config
from .scaling import Bounds, clamp, decide
from .worker_deployment import MANAGED_BY, MODEL_LABEL, build, deployment_name, served_name

CONFIG = load_config()  # at import: a bad variable stops the operator before it watches anything
MODELS = (kube.GROUP, kube.VERSION, kube.PLURAL)
Logger = logging.Logger | logging.LoggerAdapter[Any]


@kopf.on.startup()
def startup(settings: kopf.OperatorSettings, memo: kopf.Memo, logger: Logger, **_: Any) -> None:
    settings.persistence.finalizer = "llm-service.io/worker-cleanup"
    settings.posting.level = logging.WARNING  # only warnings become Kubernetes Events; scaling posts its own
    kube.connect()
    # Every resource's memo is a shallow copy of this one, so all handlers share this client.
    memo.redis = make_redis(CONFIG.redis_url, name="llm-operator")
    if CONFIG.metrics_port:
        start_http_server(CONFIG.metrics_port)
    logger.info("operator ready: workers %s, scaling every %ss", CONFIG.worker_image, CONFIG.scale_interval)


@kopf.on.resume(*MODELS)
@kopf.on.create(*MODELS)
@kopf.on.update(*MODELS)
def reconcile(
    body: kopf.Body,
    spec: kopf.Spec,
    name: str,
    namespace: str | None,
    memo: kopf.Memo,
    patch: kopf.Patch,
    logger: Logger,
    **_: Any,
) -> None:
    namespace = _namespaced(namespace)
    model = as_dict(body)
    why = admission.refusal(model, CONFIG)
    if why is not None:
        _refuse(body, patch, "Refused", "NotAllowed", f"{why}; this model is not run")
    owner = _publish(memo.redis, model)
    if owner is not None:
        # Its workers would take the other model's queue, and its entry the other's key restriction: not run
        message = f"servedModelName {served_name(model)!r} is already served by {owner}; this model is not run"
        _refuse(body, patch, "NameConflict", "ServedModelNameTaken", message)
    deployment = deployment_name(CONFIG, name)
    existed = kube.get_deployment(namespace, deployment)
    kube.apply_deployment(build(model, CONFIG))
    # A new Deployment starts at the floor; `kubectl scale llmmodel` (spec.replicas) sets a count at once.
    # Either way the autoscaler takes over from there at its next check.
    asked = spec.get("replicas")
    if existed is None or (asked is not None and asked != existed["spec"].get("replicas")):
        kube.scale_deployment(namespace, deployment, clamp(0 if asked is None else int(asked), _bounds(spec)))
    logger.info("worker Deployment for %s applied", served_name(model))


@kopf.on.delete(*MODELS)
def remove(body: kopf.Body, name: str, namespace: str | None, memo: kopf.Memo, **_: Any) -> None:
    """The garbage collector would delete the Deployment too (owner reference); do it now, and unregister."""
    kube.delete_deployment(_namespaced(namespace), deployment_name(CONFIG, name))
    try:  # only its own entry: one that lost its name to another model leaves that one's alone
        model_registry.withdraw(memo.redis, served_name(as_dict(body)), f"{namespace}/{name}")
    except redis.RedisError as error:
        raise kopf.TemporaryError(f"Redis unavailable, cannot unregister the model: {error}", delay=10) from error


@kopf.timer(*MODELS, interval=CONFIG.republish_interval, idle=CONFIG.republish_interval)
def republish(body: kopf.Body, memo: kopf.Memo, **kwargs: Any) -> None:
    """Publish the model again: a key rotated in its Secret changes no LLMModel, so no event announces it,
    and a Redis that came back empty gets the entry back. Only a model that runs (one refused for its name
    has no Deployment, and runs once it is applied again with a free name). (Kopf passes timers `stopped`,
    which its TimerFn type does not declare.)"""
    model = as_dict(body)
    if kube.get_deployment(model["metadata"]["namespace"], deployment_name(CONFIG, model["metadata"]["name"])):
        _publish(memo.redis, model, kwargs["stopped"])


@kopf.on.event("apps", "v1", "deployments", labels=dict(MANAGED_BY))
def repair(event: kopf.RawEvent, logger: Logger, **_: Any) -> None:
    """Someone edited or deleted a worker Deployment: apply what its LLMModel asks for again (a no-op when
    nothing differs, so this does not loop). Replicas are not touched: the autoscaler owns them."""
    deployment: dict[str, Any] = event["object"]  # type: ignore[assignment]
    owner = deployment["metadata"].get("labels", {}).get(MODEL_LABEL)
    namespace = deployment["metadata"]["namespace"]
    model = kube.get_model(namespace, owner) if owner else None
    if model is None or model["metadata"].get("deletionTimestamp"):
        return
    kube.apply_deployment(build(model, CONFIG))
    if event.get("type") == "DELETED":
        logger.warning("worker Deployment %s was deleted; recreated", deployment["metadata"]["name"])
        kube.scale_deployment(namespace, deployment_name(CONFIG, owner), clamp(0, _bounds(model["spec"])))


@kopf.timer(*MODELS, interval=CONFIG.scale_interval)
def autoscale(
    body: kopf.Body, spec: kopf.Spec, name: str, namespace: str | None, memo: kopf.Memo, patch: kopf.Patch, **_: Any
) -> None:
    namespace = _namespaced(namespace)
    model = as_dict(body)
    deployment = kube.get_deployment(namespace, deployment_name(CONFIG, name))
    if deployment is None:
        return  # reconcile (or repair) creates it
    current = int(deployment["spec"].get("replicas") or 0)
    found = _depth(memo.redis, served_name(model))
    depth = found.total if found is not None else None
    batch_waiting = found is not None and found.offline > 0
    decision = decide(current, depth, _bounds(spec), time.monotonic(), memo.get("low_since"), batch_waiting)
    memo["low_since"] = decision.low_since
    if decision.replicas != current:
        kube.scale_deployment(namespace, deployment["metadata"]["name"], decision.replicas)
        direction = "up" if decision.replicas > current else "down"
        metrics.SCALES.labels(served_name(model), direction).inc()
        message = f"worker replicas {current} -> {decision.replicas} (queue depth {depth})"
        kopf.event(body, type="Normal", reason=f"Scaled{direction.capitalize()}", message=message)
    metrics.DESIRED.labels(served_name(model)).set(decision.replicas)
    metrics.RUNS.labels(served_name(model)).inc()
    status = deployment.get("status", {})
    patch.status.update(
        replicas=int(status.get("replicas") or 0),
        readyReplicas=int(status.get("readyReplicas") or 0),
        desiredReplicas=decision.replicas,
        observedGeneration=model["metadata"].get("generation"),
        conditions=[_queue_condition(model, depth)],
    )
    if depth is not None:
        patch.status["queueDepth"] = depth


def _depth(client: redis.Redis, model_name: str) -> QueueDepth | None:
    try:
        found = queue_depth(client, model_name)
    except redis.RedisError:
        metrics.REDIS_ERRORS.inc()
        return None
    metrics.DEPTH.labels(model_name).set(found.total)
    return found


def _refuse(body: kopf.Body, patch: kopf.Patch, kind: str, reason: str, message: str) -> None:
    """The model is not run: a condition and a Warning event say why, until the resource changes."""
    patch.status["conditions"] = [_condition(kind, "True", reason, message)]
    kopf.event(body, type="Warning", reason=reason, message=message)
    raise kopf.PermanentError(message)


def _condition(kind: str, status: str, reason: str, message: str) -> dict[str, str]:
    return {"type": kind, "status": status, "reason": reason, "message": message, "lastTransitionTime": _now()}


def _queue_condition(model: dict[str, Any], depth: int | None) -> dict[str, str]:
    status = "True" if depth is not None else "False"
    previous = next((c for c in model.get("status", {}).get("conditions", []) if c["type"] == "QueueReadable"), None)
    changed = previous is None or previous.get("status") != status
    return {
        "type": "QueueReadable",
        "status": status,
        "reason": "RedisAvailable" if depth is not None else "RedisUnavailable",
        "message": "queue depth read from Redis" if depth is not None else "Redis could not be read: replicas held",
        "lastTransitionTime": _now() if changed else previous["lastTransitionTime"],  # type: ignore[index]
    }


def _publish(client: redis.Redis, model: dict[str, Any], stopped: kopf.DaemonStopped | None = None) -> str | None:
    """Registers the model; returns the resource that owns its served name when another one does. `stopped`:
    a timer's, set once the model is being deleted. Checked after the Secrets are read (the slow part), it
    leaves almost no time in which a run overtaken by the deletion could register the model again after
    `remove` withdrew it."""
    namespace, spec = model["metadata"]["namespace"], model["spec"]
    generation = spec.get("generation", {})
    entry = model_registry.RegisteredModel(
        name=served_name(model),
        resource=f"{namespace}/{model['metadata']['name']}",
        key_digests=api_keys.digests(namespace, spec.get("apiKeys", [])),
        max_tokens=generation.get("maxNewTokens"),
        temperature=generation.get("temperature"),
        task=spec.get("task", "generate"),
    )
    if stopped:
        return None
    try:
        return model_registry.publish(client, entry)
    except redis.RedisError as error:
        raise kopf.TemporaryError(f"Redis unavailable, cannot register the model: {error}", delay=10) from error


def _namespaced(namespace: str | None) -> str:
    """LLMModel's CRD is namespaced, so Kopf always passes one."""
    assert namespace is not None
    return namespace


def _bounds(spec: Mapping[str, Any]) -> Bounds:
    return Bounds(
        int(spec.get("minReplicas", 0)),
        int(spec.get("maxReplicas", 1)),
        int(spec.get("targetQueueLength", 32)),
        float(spec.get("scaleDownDelaySeconds", 300)),
    )


def as_dict(value: Any) -> Any:
    """A copy of a Kopf body (a live view) as plain dicts and lists, which the Kubernetes client wants."""
    if isinstance(value, Mapping):
        return {key: as_dict(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_dict(item) for item in value]
    return value


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# The LLMTenant handlers run in the same operator (its entry point is this module).
from . import tenant_handlers  # noqa: E402, F401
