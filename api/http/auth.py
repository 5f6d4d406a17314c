"""API keys: the X-API-Key header, compared in constant time; views see only the key's id and digest.

Valid keys: API_KEYS, API_KEYS_FILE's, and the keys of the Secrets that LLMModel and LLMTenant resources
name (model_registry, tenants). Views also see the key's tenant, with the api's request rate filled in."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

import redis
from flask import g, request

from contract import model_registry, tenants
from contract.tenants import Tenant

from ..services import services
from .errors import ApiError

API_KEY_HEADER = "X-API-Key"
API_KEY_QUERY = "api_key"
F = TypeVar("F", bound=Callable[..., Any])


def key_id(api_key: str) -> str:
    """A short hash that names a key in records and logs without revealing it."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:16]


def matching_key(candidate: str, keys: list[str]) -> str | None:
    """Compares against every key, always, so timing reveals neither the key nor its position."""
    found = None
    for key in keys:
        if hmac.compare_digest(candidate.encode(), key.encode()):
            found = key
    return found


def _bearer() -> str | None:
    """OpenAI's clients send the key as `Authorization: Bearer <key>`. Any other Authorization header is
    refused rather than ignored: a request must not carry credentials the api did not check."""
    value = request.headers.get("Authorization")
    if value is None:
        return None
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "Invalid API key: the Authorization header must be `Bearer <key>`")
    return token.strip()


def _static_keys() -> list[str]:
    svc = services()
    return svc.settings.api_key_list + (svc.key_file.current() if svc.key_file else [])


def _known(candidate: str) -> bool:
    """API_KEYS and API_KEYS_FILE's keys, and those of the Secrets that LLMTenant and LLMModel resources name
    (the operator publishes them). The first three are held in memory; a model's need a Redis read, which a
    client address that sent too many wrong keys does not get (429): a guesser is throttled, and valid keys
    from the same address that need no read still pass."""
    if matching_key(candidate, _static_keys()) is not None:
        return True
    key_digest = model_registry.digest(candidate)
    if services().tenants.lists(key_digest):
        return True
    wrong_keys = services().wrong_keys
    wrong_keys.refuse_if_over()
    try:
        models = list(model_registry.read(services().redis).values())
    except redis.RedisError:
        return False  # API_KEYS still work while Redis is away
    if model_registry.holds(key_digest, models):
        return True
    wrong_keys.count()
    return False


def _tenant(key_digest: str, key: str) -> Tenant:
    svc = services()
    tenant = svc.tenants.tenant_of(key_digest, key)
    return tenants.with_defaults(tenant, svc.settings.rate_limit_per_minute, svc.settings.rate_limit_burst)


def _presented_key(allow_query: bool) -> str:
    """The one key the request carries; 401 when it carries none, or two different ones."""
    header, bearer = request.headers.get(API_KEY_HEADER), _bearer()
    if header and bearer and header != bearer:
        raise ApiError(401, "Invalid API key: two different keys in one request (X-API-Key and Bearer)")
    candidate = header or bearer or (request.args.get(API_KEY_QUERY) if allow_query else None)
    if not candidate:
        where = f"the {API_KEY_HEADER} header or as Authorization: Bearer <key>"
        where += f", or as ?{API_KEY_QUERY}=" if allow_query else ""
        raise ApiError(401, f"Missing API key: send it in {where}")
    return candidate


def require_api_key(view: F | None = None, *, allow_query: bool = False) -> Any:
    """Views see g.key_id. `allow_query` also takes ?api_key=, for browsers' EventSource (SSE only)."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            candidate = _presented_key(allow_query)
            if not _known(candidate):
                raise ApiError(401, "Invalid API key")
            g.key_id = key_id(candidate)
            g.key_digest = model_registry.digest(candidate)
            g.tenant = _tenant(g.key_digest, g.key_id)
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorate(view) if view is not None else decorate
