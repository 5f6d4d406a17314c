"""Webhook deliveries waiting to be sent: scheduled by whoever ends a task (the worker) or a batch (the api),
sent by the api's dispatcher (api/webhooks/). One hash per delivery, and one sorted set of deliveries by the
time each may next be tried: a dispatcher claims one by pushing that time past its own attempt (a lease),
so a dispatcher that dies mid-attempt leaves it to the next one. Delivery is at least once."""

from __future__ import annotations

from typing import Any

import redis

from .names import KEY_PREFIX

DUE_KEY = f"{KEY_PREFIX}:webhooks:due"


def delivery_key(delivery_id: str) -> str:
    return f"{KEY_PREFIX}:webhook:{delivery_id}"


def task_delivery_id(task_id: str) -> str:
    return f"msg_task_{task_id}"


# KEYS: delivery hash, due set. ARGV: delivery id, now, ttl, then field/value pairs. A delivery already
# scheduled (or sent: its hash stays until it expires) is left alone, so a task that ends twice (a worker
# lost after finishing, a cancelled task completing late) is announced once.
_SCHEDULE = """
if redis.call('exists', KEYS[1]) == 1 then return 0 end
redis.call('hset', KEYS[1], unpack(ARGV, 4))
redis.call('expire', KEYS[1], ARGV[3])
redis.call('zadd', KEYS[2], ARGV[2], ARGV[1])
return 1
"""

# KEYS: due set. ARGV: now, lease end, most to claim, how many due ones to look at, the delivery key prefix.
# Returns the claimed delivery ids: the earliest due, at most one per owner (the key that asked), so one key
# with many deliveries (or a slow receiver) takes one place of `most` and every other key's come along.
_CLAIM = """
local due = redis.call('zrangebyscore', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[4])
local chosen, owners = {}, {}
for _, id in ipairs(due) do
  local owner = redis.call('hget', ARGV[5] .. id, 'owner') or ''
  if not owners[owner] then
    owners[owner] = true
    table.insert(chosen, id)
    redis.call('zadd', KEYS[1], ARGV[2], id)
    if #chosen >= tonumber(ARGV[3]) then break end
  end
end
return chosen
"""
CLAIM_LOOKAHEAD = 8
"""due deliveries looked at per place to fill, to find other owners' behind one owner's many"""


def schedule(
    client: redis.Redis | redis.client.Pipeline,
    delivery_id: str,
    *,
    url: str,
    kind: str,
    ref: str,
    now: float,
    ttl: int,
    owner: str,
    body: str = "",
) -> None:
    """`kind` and `ref` say what ended ("task" and its id, "batch" and its id); `owner`, the id of the key
    that asked (whose secret signs it); `body`, when given, is sent as is, else the dispatcher renders the
    task's final body at its first attempt."""
    fields: list[Any] = ["url", url, "kind", kind, "ref", ref, "owner", owner, "body", body, "attempts", 0]
    fields += ["state", "pending"]
    client.eval(_SCHEDULE, 2, delivery_key(delivery_id), DUE_KEY, delivery_id, now, ttl, *fields)


def claim(client: redis.Redis, now: float, lease_seconds: float, most: int) -> list[str]:
    prefix = delivery_key("")
    found: list[str] = client.eval(  # type: ignore[assignment]
        _CLAIM, 1, DUE_KEY, now, now + lease_seconds, most, most * CLAIM_LOOKAHEAD, prefix
    )
    return found
