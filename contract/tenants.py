"""Tenants: who shares the service, and on what terms. Each API key belongs to one tenant; a tenant's limits
apply to all its keys together, and its weight and priority class order its waiting requests against other
tenants' (contract/fair_queue.py).

Written by the operator from LLMTenant resources (one hash field per tenant, keys stored as SHA-256
digests), read by the api every few seconds, so a change applies without a restart. A key no tenant lists
is its own tenant, `key-<key id>`, with the defaults: weight 1, priority `standard`, the api's request rate,
and no other limit.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum

import redis

from .names import TENANT_REGISTRY_KEY

DEFAULT_WEIGHT = 1.0


class Priority(StrEnum):
    """Priority classes, highest first: a class's waiting requests all start before the next class's."""

    INTERACTIVE = "interactive"
    STANDARD = "standard"
    BATCH = "batch"

    @property
    def rank(self) -> int:
        return list(Priority).index(self)


@dataclass(frozen=True)
class Limits:
    """What a tenant may use; None is no limit (the request rate falls back to the api's settings)."""

    requests_per_minute: int | None = None
    burst: int | None = None
    input_tokens_per_minute: int | None = None
    output_tokens_per_minute: int | None = None
    tokens_per_day: int | None = None
    max_in_flight: int | None = None
    """requests accepted and not yet finished"""


@dataclass(frozen=True)
class Tenant:
    name: str
    resource: str = ""
    """namespace/name of the LLMTenant that declares it; empty for a key's own tenant"""
    key_digests: list[str] = field(default_factory=list)
    weight: float = DEFAULT_WEIGHT
    priority: Priority = Priority.STANDARD
    limits: Limits = field(default_factory=Limits)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Tenant:
        data = json.loads(text)
        return cls(**{**data, "priority": Priority(data["priority"]), "limits": Limits(**data["limits"])})


def own_tenant(key_id: str) -> Tenant:
    """The tenant of a key that no LLMTenant lists."""
    return Tenant(name=f"key-{key_id}")


def publish(client: redis.Redis, tenant: Tenant) -> None:
    client.hset(TENANT_REGISTRY_KEY, tenant.name, tenant.to_json())


def withdraw(client: redis.Redis, name: str) -> None:
    client.hdel(TENANT_REGISTRY_KEY, name)


def read(client: redis.Redis) -> dict[str, Tenant]:
    entries: dict[str, str] = client.hgetall(TENANT_REGISTRY_KEY)  # type: ignore[assignment]
    return {name: Tenant.from_json(value) for name, value in entries.items()}


def tenant_of(key_digest: str, key_id: str, tenants: dict[str, Tenant]) -> Tenant:
    """The tenant that lists the key, else its own. Every digest is compared, each in constant time."""
    found = None
    for tenant in tenants.values():
        for stored in tenant.key_digests:
            if hmac.compare_digest(key_digest, stored):
                found = tenant
    return found if found is not None else own_tenant(key_id)


def with_defaults(tenant: Tenant, requests_per_minute: int, burst: int) -> Tenant:
    """The tenant with the api's request rate wherever it sets none: that one limit always applies."""
    limits = replace(
        tenant.limits,
        requests_per_minute=tenant.limits.requests_per_minute or requests_per_minute,
        burst=tenant.limits.burst or burst,
    )
    return replace(tenant, limits=limits)
