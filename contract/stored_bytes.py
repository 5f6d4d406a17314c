"""What one API key may store in Redis a day: each task record it causes (a request's task, a batch's line)
counts its parameters and the text it may generate (max_tokens, 4 bytes a token) against the key's budget
for the day. Records live RESULT_TTL (a day by default), so a day's budget bounds what one key holds;
Redis's maxmemory bounds the sum (the chart's), this bounds each key's share of it. Counted at once for all
of a request's tasks (a batch's lines included), atomically: concurrent requests cannot pass it together."""

from __future__ import annotations

import time

import redis

from .names import stored_bytes_key
from .task_params import TaskParams

DAY = 86_400
RECORD_OVERHEAD_BYTES = 512
"""a record's fields besides its parameters and result: ids, times, status, metrics, its events"""
BYTES_PER_TOKEN = 4

# KEYS: the day's counter. ARGV: bytes asked, budget, seconds the counter lives. 1 when counted, 0 when over.
_RESERVE = """
local used = tonumber(redis.call('get', KEYS[1]) or '0')
if used + tonumber(ARGV[1]) > tonumber(ARGV[2]) then return 0 end
redis.call('incrby', KEYS[1], ARGV[1])
redis.call('expire', KEYS[1], ARGV[3])
return 1
"""


def record_bytes(params: TaskParams, extra: int = 0) -> int:
    """What one task's record may come to: its parameters, the most text it may generate, `extra` (a
    response's stored conversation)."""
    generated = params.max_tokens * BYTES_PER_TOKEN
    return len(params.model_dump_json(exclude_defaults=True)) + generated + extra + RECORD_OVERHEAD_BYTES


def reserve(client: redis.Redis, owner: str, size: int, budget: int, now: float | None = None) -> int | None:
    """Counts `size` bytes against the key's day; None when counted, else the seconds until the next day."""
    now = time.time() if now is None else now
    day = int(now) // DAY
    if client.eval(_RESERVE, 1, stored_bytes_key(owner, day), size, budget, 2 * DAY):
        return None
    return (day + 1) * DAY - int(now)
