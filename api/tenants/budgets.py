"""A request's share of its tenant's budgets: reserved when it is accepted (contract/tenant_budget.py), or
refused with 429, the limit named, and when to come back. /v1 responses also carry OpenAI's
`x-ratelimit-*` headers, which its clients read."""

from __future__ import annotations

import time

from flask import Response, g, request

from contract import tenant_budget
from contract.tenant_budget import MINUTE, Granted, Reservation
from contract.tenants import Tenant

from ..http.errors import OPENAI_PREFIX, ApiError
from ..http.metrics import RATE_LIMIT_REJECTIONS
from ..services import Services

LIMIT_WORDS = {
    "input_tokens_per_minute": "input tokens per minute",
    "output_tokens_per_minute": "output tokens per minute",
    "tokens_per_day": "tokens per day",
    "max_in_flight": "requests in flight",
}


def reserve(svc: Services, tenant: Tenant, task_id: str, input_tokens: int, output_tokens: int) -> Reservation | None:
    """The request's reservation; None for a tenant with no budget to reserve from (no Redis round trip)."""
    if not tenant_budget.limited(tenant.limits):
        return None
    found = tenant_budget.reserve(
        svc.redis,
        tenant.name,
        tenant.limits,
        task_id,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        hold=svc.settings.result_ttl,
    )
    if isinstance(found, Granted):
        g.token_budget = (tenant, found)
        return found.reservation
    RATE_LIMIT_REJECTIONS.labels(request.url_rule.rule if request.url_rule else "unknown").inc()
    asked = 1 if found.limit == "max_in_flight" else _asked(found.limit, input_tokens, output_tokens)
    message = (
        f"Rate limit exceeded: tenant {tenant.name!r} may use {found.allowed} {LIMIT_WORDS[found.limit]}; "
        f"{found.used} used, this request needs {asked}"
    )
    # OpenAI's headers speak of tokens and requests per time; a place in flight is neither.
    left = max(0, found.allowed - found.used)
    headers = {} if found.limit == "max_in_flight" else _openai_headers(found.allowed, left, found.retry_after)
    raise ApiError(
        429, message, retry_after=found.retry_after, limit=found.limit, code="rate_limit_exceeded", headers=headers
    )


def add_headers(response: Response) -> Response:
    """OpenAI's token headers on a /v1 response whose request reserved tokens under a minute limit."""
    granted: tuple[Tenant, Granted] | None = g.get("token_budget")
    if granted is None or not request.path.startswith(OPENAI_PREFIX):
        return response
    tenant, found = granted
    left = [
        (limit - found.used[name], limit)
        for name in ("input_tokens_per_minute", "output_tokens_per_minute")
        if (limit := getattr(tenant.limits, name)) is not None
    ]
    if left:
        remaining, limit = min(left)
        reset = found.reservation.minute + MINUTE - int(time.time())
        response.headers.update(_openai_headers(limit, max(0, remaining), max(1, reset)))
    return response


def _openai_headers(limit: int, remaining: int, reset_seconds: int) -> dict[str, str]:
    return {
        "x-ratelimit-limit-tokens": str(limit),
        "x-ratelimit-remaining-tokens": str(remaining),
        "x-ratelimit-reset-tokens": f"{reset_seconds}s",
    }


def _asked(limit: str, input_tokens: int, output_tokens: int) -> int:
    return {"input_tokens_per_minute": input_tokens, "output_tokens_per_minute": output_tokens}.get(
        limit, input_tokens + output_tokens
    )
