"""Per-key rate limits with flask-limiter, stored in the same Redis as everything else.

RATE_LIMIT_PER_MINUTE with bursts of RATE_LIMIT_BURST, as two moving windows: the burst may arrive back
to back, and then the key earns its requests back at the per-minute rate (10 per 10 s for 60/min and 10).
A request refused as invalid (400, 413, 415) costs nothing: a client fixing its request is not locked out.
"""

from __future__ import annotations

import math

from flask import Flask, Response, g
from flask_limiter import Limiter

from contract.names import RATE_LIMIT_KEY_PREFIX
from contract.redis_url import sentinel_url

from .services import services
from .settings import ApiSettings

NOT_COUNTED = frozenset({400, 413, 415})
# Counts read from the primary too: a replica a little behind would let a burst through twice.
SENTINEL_STORAGE_OPTIONS = {
    "use_replicas": False,
    "socket_connect_timeout": 2,
    "socket_timeout": 2,
    "sentinel_kwargs": {"socket_connect_timeout": 1, "socket_timeout": 1},
}


def _limited_key() -> str:
    # Views are wrapped in require_api_key first, so the key is known and valid here.
    key: str = g.key_id
    return key


limiter = Limiter(key_func=_limited_key, key_prefix=RATE_LIMIT_KEY_PREFIX, strategy="moving-window")


def limit_string(per_minute: int, burst: int) -> str:
    burst_window = max(1, math.ceil(burst * 60 / per_minute))
    return f"{per_minute} per minute;{burst} per {burst_window} seconds"


def current_limits() -> str:
    settings = services().settings
    return limit_string(settings.rate_limit_per_minute, settings.rate_limit_burst)


def _counts(response: Response) -> bool:
    return response.status_code not in NOT_COUNTED


# Views are checked before they run and charged after, by their response.
counted_against_limit = limiter.limit(current_limits, deduct_when=_counts)


def init_app(app: Flask, settings: ApiSettings) -> None:
    app.config.update(
        RATELIMIT_STORAGE_URI=settings.redis_url,
        RATELIMIT_STORAGE_OPTIONS=SENTINEL_STORAGE_OPTIONS if sentinel_url(settings.redis_url) else {},
        RATELIMIT_HEADERS_ENABLED=True,
        # When Redis is down the request goes on and meets a clear 503 from the queue, not a 500 here.
        RATELIMIT_SWALLOW_ERRORS=True,
    )
    limiter.init_app(app)
