"""Usage by tenant, API key and model: input (prompt) and output (completion) tokens and requests, counted once per
task in the same transaction as its final write (contract/task_store.py), so a task run twice after a lost
worker, or a retried batch line, is counted once. Kept in one-minute and one-day buckets, and in all-time
totals for Prometheus. The same script settles the task's reservation of its tenant's budgets
(contract/tenant_budget.py), so that happens once too."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis

from .names import USAGE_TOTAL_KEY, task_key, usage_bucket_key
from .tenant_budget import SETTLE, Reservation, settlement

MINUTE, DAY = 60, 86_400
RETENTION = {MINUTE: 2 * DAY, DAY: 400 * DAY}
"""how long each width's buckets are kept (seconds)"""
COUNTED_FIELD = "usage_counted"
"""set on a task's record when its usage was counted: the one place that makes counting happen once"""
NAMES = ("input_tokens", "output_tokens", "num_model_requests")

# KEYS: task record, minute bucket, day bucket, totals; then, for a reservation, its minute and day budgets
# and its tenant's in-flight set. ARGV: field prefix, input, output, minute ttl, day ttl, counted field; then
# the input and output tokens to give back (negative) or add, and the task id.
_COUNT = (
    """
if redis.call('hsetnx', KEYS[1], ARGV[6], '1') == 0 then return 0 end
for i = 2, 4 do
  redis.call('hincrby', KEYS[i], ARGV[1] .. 'input_tokens', ARGV[2])
  redis.call('hincrby', KEYS[i], ARGV[1] .. 'output_tokens', ARGV[3])
  redis.call('hincrby', KEYS[i], ARGV[1] .. 'num_model_requests', 1)
end
redis.call('expire', KEYS[2], ARGV[4])
redis.call('expire', KEYS[3], ARGV[5])
if #KEYS > 4 then
  local k, a = 4, 6
"""
    + SETTLE
    + """
end
return 1
"""
)


@dataclass(frozen=True)
class Usage:
    tenant: str
    api_key_id: str
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    num_model_requests: int = 0


@dataclass(frozen=True)
class Counted:
    """One finished task's usage, and whose it is."""

    task_id: str
    tenant: str
    owner: str
    model: str
    input_tokens: int
    output_tokens: int
    reservation: Reservation | None = None


def count(pipe: Any, task: Counted, at: float) -> None:
    """Queues the count of one finished task on `pipe` (a transaction), and the settlement of its
    reservation; a task already counted is skipped."""
    minute, day = bucket_start(at, MINUTE), bucket_start(at, DAY)
    keys = [task_key(task.task_id), usage_bucket_key(MINUTE, minute), usage_bucket_key(DAY, day), USAGE_TOTAL_KEY]
    prefix = _prefix(task.tenant, task.owner, task.model)
    args = [prefix, task.input_tokens, task.output_tokens, RETENTION[MINUTE], RETENTION[DAY], COUNTED_FIELD]
    if task.reservation is not None:
        more_keys, more_args = settlement(task.reservation, task.task_id, task.input_tokens, task.output_tokens)
        keys, args = keys + more_keys, args + more_args
    pipe.eval(_COUNT, len(keys), *keys, *args)


def bucket(client: redis.Redis, width: int, start: int) -> list[Usage]:
    """One bucket's usage by key and model; `start` is a multiple of `width` since the epoch."""
    return _parse(client.hgetall(usage_bucket_key(width, start)))  # type: ignore[arg-type]


def totals(client: redis.Redis) -> list[Usage]:
    return _parse(client.hgetall(USAGE_TOTAL_KEY))  # type: ignore[arg-type]


def bucket_start(at: float, width: int) -> int:
    return int(at // width * width)


def _prefix(tenant: str, owner: str, model: str) -> str:
    return f"{tenant}\t{owner}\t{model}\t"


def _parse(fields: dict[str, str]) -> list[Usage]:
    found: dict[tuple[str, str, str], dict[str, int]] = {}
    for field, value in fields.items():
        tenant, owner, model, name = field.split("\t", 3)
        found.setdefault((tenant, owner, model), {})[name] = int(value)
    return [Usage(tenant, owner, model, **counts) for (tenant, owner, model), counts in sorted(found.items())]
