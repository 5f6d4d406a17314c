"""Per-tenant rate limits with flask-limiter, stored in the same Redis as everything else.

A tenant's requests per minute and burst (RATE_LIMIT_PER_MINUTE and RATE_LIMIT_BURST where it sets none;
a key no tenant lists is its own tenant), one budget across every generation route of its keys, as two
moving windows: the burst may arrive back to back, and then the key earns its requests back at the
per-minute rate (10 per 10 s for 60/min and 10).
A request counts once for each task it creates (a chat completion with `n` 8 counts 8), and only once it is
accepted: a refusal of any kind (400, 404, 429 for a token budget, 503...) costs nothing. flask-limiter's
check before the view only tests that the budget has room (refusing at once when it has none); the tasks are
counted by `spend`, in the same windows, when the request is accepted, just before its records are written,
so requests that wait for their answer (the /v1 routes) count from their start, not their end. A request
asking for more tasks than its tenant's burst could never pass, so it is refused with 400 naming `n` (or
`input`).
Files, batches and cancels have a budget of their own, at the same rate ("management").

Only a refused request learns when to come back (Retry-After, computed then); flask-limiter's X-RateLimit
headers on every response would cost two more Redis reads per request (a sixth of the submit path's time,
profiled), so they are off.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from flask import Flask, g, request
from flask.wrappers import Response
from flask_limiter import Limiter
from limits import RateLimitItemPerMinute, parse_many
from redis.connection import BlockingConnectionPool
from werkzeug.exceptions import TooManyRequests

from contract.connections import STORE_OPTIONS
from contract.names import RATE_LIMIT_KEY_PREFIX
from contract.redis_url import sentinel_url
from contract.tenants import Tenant

from ..settings import ApiSettings
from .errors import ApiError

LIMITER_CLIENT = "llm-api-limiter"
WRONG_KEY_SCOPE = "wrong-key"
WRONG_KEY_RETRY_AFTER_SECONDS = 60
logger = logging.getLogger(__name__)


def storage_options(redis_url: str) -> dict[str, Any]:
    """flask-limiter's Redis client, bounded like every other pool here: past the bound a check waits for a
    connection instead of failing with "Too many connections", which, swallowed, would skip the limit just
    when a flood comes."""
    sentinel = sentinel_url(redis_url)
    if sentinel is None:
        return {
            "connection_pool": BlockingConnectionPool.from_url(redis_url, client_name=LIMITER_CLIENT, **STORE_OPTIONS)
        }
    # limits builds the Sentinel pool itself (not a blocking one): a high bound, and counts read from the
    # primary too (a replica a little behind would let a burst through twice). The password as our parser
    # decodes it, so that the limiter and the rest agree on a percent-encoded one.
    return {
        "use_replicas": False,
        "sentinel_kwargs": {"socket_connect_timeout": 1, "socket_timeout": 1},
        **sentinel.auth,
        "socket_connect_timeout": 2,
        "socket_timeout": 5,
        "max_connections": 1000,
        "client_name": LIMITER_CLIENT,
    }


def _limited_key() -> str:
    # Views are wrapped in require_api_key first, so the key and its tenant are known here. The budget is the
    # tenant's: its keys share it.
    tenant: Tenant = g.tenant
    return tenant.name


limiter = Limiter(key_func=_limited_key, key_prefix=RATE_LIMIT_KEY_PREFIX, strategy="moving-window")


def limit_string(per_minute: int, burst: int) -> str:
    burst_window = max(1, math.ceil(burst * 60 / per_minute))
    return f"{per_minute} per minute;{burst} per {burst_window} seconds"


def current_limits() -> str:
    """The tenant's rate (contract/tenants.py: RATE_LIMIT_PER_MINUTE and RATE_LIMIT_BURST unless it sets its own)."""
    limits = g.tenant.limits
    return limit_string(limits.requests_per_minute, limits.burst)


def openai_headers(retry_after_seconds: int) -> dict[str, str]:
    """OpenAI's request headers on a 429 (its clients read them); only then, as the module docstring says why."""
    return {
        "x-ratelimit-limit-requests": str(g.tenant.limits.requests_per_minute),
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": f"{retry_after_seconds}s",
    }


GENERATION_SCOPE = "generation"


def _accepted(response: Response) -> bool:
    return response.status_code < 400


def _tested_only(_: Response) -> bool:
    """flask-limiter's check only tests the budget; `spend` counts the request once it is accepted."""
    return False


def spend(tasks: int) -> None:
    """Counts an accepted request's tasks against its tenant's windows (the ones the decorator tests); 429
    when they would not fit. Every window is tested before any is hit: hitting one by one, a first window
    hit and a second refusing would spend the budget of a refused request. (Redis away: not counted, as
    flask-limiter swallows its errors here too.)"""
    items = parse_many(current_limits())
    identifiers = (RATE_LIMIT_KEY_PREFIX, g.tenant.name, GENERATION_SCOPE)
    try:
        if not all(limiter.limiter.test(item, *identifiers, cost=tasks) for item in items):
            raise TooManyRequests()
        for item in items:
            limiter.limiter.hit(item, *identifiers, cost=tasks)
    except TooManyRequests:
        raise
    except Exception:
        logger.warning("rate limit not counted: its storage failed", exc_info=True)


def _tasks() -> int:
    return int(g.get("tasks_asked", 1))


def asks_for(tasks: int, field: str) -> None:
    """The number of tasks the request will create, which it costs; 400 naming `field` past the burst."""
    burst = g.tenant.limits.burst
    if tasks > burst:
        raise ApiError(
            400,
            f"Invalid {field}: this request would create {tasks} tasks, each counted against the rate limit, "
            f"above the burst of {burst}",
            field=field,
        )
    g.tasks_asked = tasks


# One budget per tenant across every route that generates (POST /generate, /v1/completions,
# /v1/chat/completions, /v1/embeddings, /v1/responses), as the API document promises: a key cannot multiply
# its rate by spreading its requests.
counted_against_limit = limiter.shared_limit(
    current_limits, scope=GENERATION_SCOPE, deduct_when=_tested_only, cost=_tasks
)
# Files, batches and cancels are counted when answered (they do not wait), and only when accepted.
counted_as_management = limiter.shared_limit(current_limits, scope="management", deduct_when=_accepted)


def retry_after() -> int:
    """Seconds until the limit this request broke lets a request through again (on a 429 only)."""
    breached = limiter.current_limit
    try:
        return max(1, math.ceil(breached.reset_at - time.time())) if breached else 1
    except Exception:  # reading the window needs Redis; a 429 must not turn into a 500 for it
        return 1


class WrongKeys:
    """Requests with a wrong API key, counted per client address in the limiter's Redis: past the bound a
    guesser is answered 429 before its key is even looked at. (Behind a proxy the address is the proxy's,
    unless the proxy is trusted to set it: Gunicorn's forwarded_allow_ips.)"""

    def __init__(self, per_minute: int) -> None:
        self.item = RateLimitItemPerMinute(per_minute)

    def refuse_if_over(self) -> None:
        if not self._within(limiter.limiter.test):
            raise ApiError(
                429,
                "Too many requests with a wrong API key from this address; retry later",
                retry_after=WRONG_KEY_RETRY_AFTER_SECONDS,
            )

    def count(self) -> None:
        self._within(limiter.limiter.hit)

    def _within(self, check: Any) -> bool:
        try:
            return bool(check(self.item, WRONG_KEY_SCOPE, request.remote_addr or "unknown"))
        except Exception:  # Redis away: the key check goes on (and API_KEYS still work), unthrottled
            logger.warning("wrong-key throttle unavailable", exc_info=True)
            return True


def init_app(app: Flask, settings: ApiSettings) -> None:
    app.config.update(
        RATELIMIT_STORAGE_URI=settings.redis_url,
        RATELIMIT_STORAGE_OPTIONS=storage_options(settings.redis_url),
        RATELIMIT_HEADERS_ENABLED=False,
        # When Redis is down the request goes on and meets a clear 503 from the queue, not a 500 here.
        RATELIMIT_SWALLOW_ERRORS=True,
    )
    limiter.init_app(app)
