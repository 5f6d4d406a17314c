"""Kopf handlers for LLMTenant: each tenant published into Redis (contract/tenants.py) with the digests of the
keys in its Secrets, its limits, weight and priority; withdrawn when deleted. The api reads them every few
seconds, so a change applies without a restart.

Re-published on a timer as well (OPERATOR_REPUBLISH_INTERVAL, 30 s): a key rotated in its Secret (no LLMTenant
change, so no event) applies within that time, and so does a tenant lost with a Redis that came back empty.

A tenant's name is its resource's name, not namespace-qualified: the operator watches one namespace
(`kopf run --namespace`, the release's), where names are unique, so two LLMTenants cannot claim one name; and
the name is what the api reports usage under (OpenAI's project_id), which stays short and as declared.
"""

from __future__ import annotations

import logging
from typing import Any

import kopf
import redis

from contract import tenants
from contract.tenants import Limits, Priority, Tenant

from . import api_keys, kube
from .config import load_config

TENANTS = (kube.GROUP, kube.VERSION, "llmtenants")
REPUBLISH_SECONDS = load_config().republish_interval
LIMIT_FIELDS = {
    "requestsPerMinute": "requests_per_minute",
    "burst": "burst",
    "inputTokensPerMinute": "input_tokens_per_minute",
    "outputTokensPerMinute": "output_tokens_per_minute",
    "tokensPerDay": "tokens_per_day",
    "maxInFlight": "max_in_flight",
}
Logger = logging.Logger | logging.LoggerAdapter[Any]


def tenant_of(name: str, namespace: str, spec: kopf.Spec) -> Tenant:
    limits = spec.get("limits", {})
    return Tenant(
        name=name,
        resource=f"{namespace}/{name}",
        key_digests=api_keys.digests(namespace, list(spec.get("apiKeys", []))),
        weight=float(spec.get("weight", 1)),
        priority=Priority(spec.get("priority", Priority.STANDARD.value)),
        limits=Limits(**{field: limits.get(camel) for camel, field in LIMIT_FIELDS.items()}),
    )


@kopf.on.resume(*TENANTS)
@kopf.on.create(*TENANTS)
@kopf.on.update(*TENANTS)
def publish(
    spec: kopf.Spec, name: str, namespace: str | None, memo: kopf.Memo, patch: kopf.Patch, logger: Logger, **_: Any
) -> None:
    _publish(spec, name, namespace, memo, patch, logger, None)


@kopf.timer(*TENANTS, interval=REPUBLISH_SECONDS, idle=REPUBLISH_SECONDS)
def republish(
    spec: kopf.Spec,
    name: str,
    namespace: str | None,
    memo: kopf.Memo,
    patch: kopf.Patch,
    logger: Logger,
    **kwargs: Any,
) -> None:
    """Publish the tenant again (Kopf passes timers `stopped`, which its TimerFn type does not declare)."""
    _publish(spec, name, namespace, memo, patch, logger, kwargs["stopped"])


def _publish(
    spec: kopf.Spec,
    name: str,
    namespace: str | None,
    memo: kopf.Memo,
    patch: kopf.Patch,
    logger: Logger,
    stopped: kopf.DaemonStopped | None,
) -> None:
    """`stopped`: the timer's, set once the tenant is being deleted. Checked after the Secrets are read (the
    slow part), it leaves almost no time in which a run overtaken by the deletion could publish the tenant
    again after `withdraw` removed it."""
    assert namespace is not None  # the CRD is namespaced
    tenant = tenant_of(name, namespace, spec)
    if stopped:
        return
    try:
        tenants.publish(memo.redis, tenant)
    except redis.RedisError as error:
        raise kopf.TemporaryError(f"Redis unavailable, cannot publish the tenant: {error}", delay=10) from error
    patch.status["keys"] = len(tenant.key_digests)
    logger.debug("tenant %s published with %d keys", name, len(tenant.key_digests))


@kopf.on.delete(*TENANTS)
def withdraw(name: str, memo: kopf.Memo, **_: Any) -> None:
    try:
        tenants.withdraw(memo.redis, name)
    except redis.RedisError as error:
        raise kopf.TemporaryError(f"Redis unavailable, cannot withdraw the tenant: {error}", delay=10) from error
