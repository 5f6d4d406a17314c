"""Per-key rate limits with flask-limiter, stored in the same Redis as everything else.

RATE_LIMIT_PER_MINUTE with bursts of RATE_LIMIT_BURST, as two moving windows: the burst may arrive back
to back, and then the key earns its requests back at the per-minute rate (10 per 10 s for 60/min and 10).
"""

from __future__ import annotations

import math

from flask import Flask, g
from flask_limiter import Limiter

from workers.core.contracts import RATE_LIMIT_KEY_PREFIX
from workers.core.settings import Settings

from .services import services


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


def init_app(app: Flask, settings: Settings) -> None:
    app.config.update(
        RATELIMIT_STORAGE_URI=settings.redis_url,
        RATELIMIT_HEADERS_ENABLED=True,
        # When Redis is down the request goes on and meets a clear 503 from the queue, not a 500 here.
        RATELIMIT_SWALLOW_ERRORS=True,
    )
    limiter.init_app(app)
