"""Usage by API key and model: input (prompt) and output (completion) tokens and requests, counted once per
task in the same transaction as its final write (contract/task_store.py), so a task run twice after a lost
worker, or a retried batch line, is counted once. Kept in one-minute and one-day buckets, and in all-time
totals for Prometheus."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis

from .names import USAGE_TOTAL_KEY, task_key, usage_bucket_key

MINUTE, DAY = 60, 86_400
RETENTION = {MINUTE: 2 * DAY, DAY: 400 * DAY}
"""how long each width's buckets are kept (seconds)"""
COUNTED_FIELD = "usage_counted"
"""set on a task's record when its usage was counted: the one place that makes counting happen once"""
NAMES = ("input_tokens", "output_tokens", "num_model_requests")

# KEYS: task record, minute bucket, day bucket, totals. ARGV: field prefix, input, output, minute ttl, day ttl.
_COUNT = """
if redis.call('hsetnx', KEYS[1], ARGV[6], '1') == 0 then return 0 end
for i = 2, 4 do
  redis.call('hincrby', KEYS[i], ARGV[1] .. 'input_tokens', ARGV[2])
  redis.call('hincrby', KEYS[i], ARGV[1] .. 'output_tokens', ARGV[3])
  redis.call('hincrby', KEYS[i], ARGV[1] .. 'num_model_requests', 1)
end
redis.call('expire', KEYS[2], ARGV[4])
redis.call('expire', KEYS[3], ARGV[5])
return 1
"""


@dataclass(frozen=True)
class Usage:
    api_key_id: str
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    num_model_requests: int = 0


def count(pipe: Any, task_id: str, owner: str, model: str, input_tokens: int, output_tokens: int, at: float) -> None:
    """Queues the count of one finished task on `pipe` (a transaction); a task already counted is skipped."""
    minute, day = bucket_start(at, MINUTE), bucket_start(at, DAY)
    keys = [task_key(task_id), usage_bucket_key(MINUTE, minute), usage_bucket_key(DAY, day), USAGE_TOTAL_KEY]
    args = [_prefix(owner, model), input_tokens, output_tokens, RETENTION[MINUTE], RETENTION[DAY], COUNTED_FIELD]
    pipe.eval(_COUNT, len(keys), *keys, *args)


def bucket(client: redis.Redis, width: int, start: int) -> list[Usage]:
    """One bucket's usage by key and model; `start` is a multiple of `width` since the epoch."""
    return _parse(client.hgetall(usage_bucket_key(width, start)))  # type: ignore[arg-type]


def totals(client: redis.Redis) -> list[Usage]:
    return _parse(client.hgetall(USAGE_TOTAL_KEY))  # type: ignore[arg-type]


def bucket_start(at: float, width: int) -> int:
    return int(at // width * width)


def _prefix(owner: str, model: str) -> str:
    return f"{owner}\t{model}\t"


def _parse(fields: dict[str, str]) -> list[Usage]:
    found: dict[tuple[str, str], dict[str, int]] = {}
    for field, value in fields.items():
        owner, model, name = field.split("\t", 2)
        found.setdefault((owner, model), {})[name] = int(value)
    return [Usage(owner, model, **counts) for (owner, model), counts in sorted(found.items())]
