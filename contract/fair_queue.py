"""Weighted fair queueing across tenants, in Redis, in front of each model's Dramatiq queue.

Requests do not go straight onto the model's queue while it has a backlog: they wait here, in one sorted set
per priority class, ordered by start-time fair queueing (Goyal et al., 1996). A tenant's request starts, in
virtual time, where the tenant's previous one finished, or at the model's clock if the tenant was idle, and
finishes `cost / weight` later, the cost being its prompt tokens plus its max_tokens. So a tenant with a
backlog of 120 requests holds virtual times far ahead, and another tenant's first request is given the
clock: it is next. Weights 2:1 give twice the requests of equal cost to the heavier tenant.

Workers move requests from here onto the Dramatiq queue as they have room (workers/middleware/fair_feeder.py),
keeping that queue about one request long, so the order here is the order in which requests start. Each move
is one script, so a request is always in exactly one place: here or on the queue, where Dramatiq's
at-least-once delivery takes over. Nothing lives in a process's memory: a worker, api or Redis primary lost
loses nothing that Redis replicated. While the model has no backlog at all, a request goes straight onto the
queue, as before this module existed.
"""

from __future__ import annotations

import redis

from .dramatiq_internals import queue_keys, task_message
from .names import fair_queue_key
from .tenants import Priority

CLASSES = [f"waiting:{priority.rank}" for priority in Priority]

# KEYS: clock, finish, waiting sets (one per class, highest first), messages, queue list, queue bodies.
# ARGV: tenant, cost / weight, class index (1-based), message id, message body.
_ADMIT = """
local n = #KEYS
local staged = 0
for i = 3, n - 3 do staged = staged + redis.call('zcard', KEYS[i]) end
local clock = tonumber(redis.call('get', KEYS[1]) or '0')
local start = math.max(clock, tonumber(redis.call('hget', KEYS[2], ARGV[1]) or '0'))
redis.call('hset', KEYS[2], ARGV[1], tostring(start + tonumber(ARGV[2])))
if staged == 0 and redis.call('llen', KEYS[n - 1]) == 0 then
  redis.call('hset', KEYS[n], ARGV[4], ARGV[5])
  redis.call('rpush', KEYS[n - 1], ARGV[4])
  return 0
end
redis.call('zadd', KEYS[2 + tonumber(ARGV[3])], start, ARGV[4])
redis.call('hset', KEYS[n - 2], ARGV[4], ARGV[5])
return 1
"""

# KEYS: clock, waiting sets (highest class first), messages, queue list, queue bodies. ARGV: queue length wanted.
_PROMOTE = """
local n = #KEYS
local moved = 0
while redis.call('llen', KEYS[n - 1]) < tonumber(ARGV[1]) do
  local popped = {}
  for i = 2, n - 3 do
    popped = redis.call('zpopmin', KEYS[i])
    if #popped > 0 then break end
  end
  if #popped == 0 then break end
  local id, start = popped[1], tonumber(popped[2])
  if start > tonumber(redis.call('get', KEYS[1]) or '0') then redis.call('set', KEYS[1], tostring(start)) end
  local body = redis.call('hget', KEYS[n - 2], id)
  redis.call('hdel', KEYS[n - 2], id)
  if body then
    redis.call('hset', KEYS[n], id, body)
    redis.call('rpush', KEYS[n - 1], id)
    moved = moved + 1
  end
end
return moved
"""


def admit(client: redis.Redis, model: str, task_id: str, *, tenant: str, cost: float, priority: Priority) -> bool:
    """Puts one task's message in line; True when it waits here, False when it went straight onto the queue."""
    message_id, body = task_message(model, task_id)
    keys = [_key(model, "clock"), _key(model, "finish"), *_classes(model), _key(model, "messages"), *queue_keys(model)]
    args: list[str | float] = [tenant, repr(float(cost)), priority.rank + 1, message_id, body]
    return bool(client.register_script(_ADMIT)(keys, args))


def promote(client: redis.Redis, model: str, queue_length: int) -> int:
    """Moves the next requests in fair order onto the model's queue until it holds `queue_length`; returns
    how many moved."""
    keys = [_key(model, "clock"), *_classes(model), _key(model, "messages"), *queue_keys(model)]
    return int(client.register_script(_PROMOTE)(keys, [queue_length]))  # type: ignore[arg-type]


def staged(client: redis.Redis, model: str) -> int:
    """Requests waiting here (not yet on the queue)."""
    with client.pipeline(transaction=False) as pipe:
        for key in _classes(model):
            pipe.zcard(key)
        return sum(int(count) for count in pipe.execute())


def _classes(model: str) -> list[str]:
    return [_key(model, part) for part in CLASSES]


def _key(model: str, part: str) -> str:
    return fair_queue_key(model, part)
