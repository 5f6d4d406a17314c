"""A tenant's token budgets and requests in flight, reserved when a request is accepted and settled when its
task ends (contract/usage.py runs the settlement in the task's final write, so it happens exactly once).

A request reserves its prompt tokens (as the api counts them) and its max_tokens from the tenant's minute
(input and output tokens) and day (all tokens) budgets, and a place among its requests in flight. When the
task ends, what it really used replaces what it reserved: the unused part is given back (to the buckets
still current), and its place is freed. Buckets are clock minutes and UTC days, so a refused request knows
when to come back: the next minute, or the next day.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import redis

from .names import budget_key, in_flight_key
from .tenants import Limits

MINUTE, DAY = 60, 86_400
NO_LIMIT = -1

# KEYS: minute bucket, day bucket, in-flight set. ARGV: input, output, day and in-flight limits (-1: none),
# input and output tokens asked, now, the place's expiry, task id, minute and day bucket lifetimes.
_RESERVE = """
local asked_in, asked_out = tonumber(ARGV[5]), tonumber(ARGV[6])
redis.call('zremrangebyscore', KEYS[3], '-inf', ARGV[7])
local used = {
  tonumber(redis.call('hget', KEYS[1], 'input') or '0'),
  tonumber(redis.call('hget', KEYS[1], 'output') or '0'),
  tonumber(redis.call('get', KEYS[2]) or '0'),
  redis.call('zcard', KEYS[3]),
}
local asked = {asked_in, asked_out, asked_in + asked_out, 1}
for i = 1, 4 do
  local limit = tonumber(ARGV[i])
  if limit >= 0 and used[i] + asked[i] > limit then return {i, used[i]} end
end
redis.call('hincrby', KEYS[1], 'input', asked_in)
redis.call('hincrby', KEYS[1], 'output', asked_out)
redis.call('expire', KEYS[1], ARGV[10])
redis.call('incrby', KEYS[2], asked_in + asked_out)
redis.call('expire', KEYS[2], ARGV[11])
redis.call('zadd', KEYS[3], ARGV[8], ARGV[9])
return {0, used[1] + asked_in, used[2] + asked_out, used[3] + asked_in + asked_out}
"""
# A reservation replaced by what was used: run with `k` and `a`, the positions before its keys (minute and
# day budgets, in-flight set) and its arguments (input and output tokens to add, negative to give back; task
# id). Buckets gone by then stay gone. Part of usage.py's script, which runs it once per task, and of _RELEASE.
SETTLE = """
if redis.call('exists', KEYS[k + 1]) == 1 then
  redis.call('hincrby', KEYS[k + 1], 'input', ARGV[a + 1])
  redis.call('hincrby', KEYS[k + 1], 'output', ARGV[a + 2])
end
if redis.call('exists', KEYS[k + 2]) == 1 then redis.call('incrby', KEYS[k + 2], ARGV[a + 1] + ARGV[a + 2]) end
redis.call('zrem', KEYS[k + 3], ARGV[a + 3])
"""
_RELEASE = "local k, a = 0, 0\n" + SETTLE
LIMIT_NAMES = ("input_tokens_per_minute", "output_tokens_per_minute", "tokens_per_day", "max_in_flight")


@dataclass(frozen=True)
class Reservation:
    """What an accepted request holds of its tenant's budgets until its task ends."""

    tenant: str
    minute: int
    day: int
    input_tokens: int
    output_tokens: int

    def __str__(self) -> str:
        return f"{self.tenant}\t{self.minute}\t{self.day}\t{self.input_tokens}\t{self.output_tokens}"

    @classmethod
    def parse(cls, text: str) -> Reservation:
        tenant, *numbers = text.split("\t")
        minute, day, input_tokens, output_tokens = (int(number) for number in numbers)
        return cls(tenant, minute, day, input_tokens, output_tokens)


@dataclass(frozen=True)
class Refusal:
    limit: str
    """the limit's name, as in Limits"""
    allowed: int
    used: int
    retry_after: int


@dataclass(frozen=True)
class Granted:
    reservation: Reservation
    used: dict[str, int]
    """each token budget's use, this request included, by the limit's name"""


def reserve(
    client: redis.Redis, tenant: str, limits: Limits, task_id: str, *, input_tokens: int, output_tokens: int, hold: int
) -> Granted | Refusal:
    """Reserves the tokens and a place in flight (held `hold` seconds at most, should the task never end)."""
    now = time.time()
    minute, day = int(now // MINUTE * MINUTE), int(now // DAY * DAY)
    keys = [budget_key(tenant, MINUTE, minute), budget_key(tenant, DAY, day), in_flight_key(tenant)]
    allowed = [_or_none(getattr(limits, name)) for name in LIMIT_NAMES]
    args: list[str | float] = [*allowed, input_tokens, output_tokens, now, now + hold, task_id, 2 * MINUTE, 2 * DAY]
    found: list[Any] = client.register_script(_RESERVE)(keys, args)  # type: ignore[assignment]
    if int(found[0]) > 0:
        index = int(found[0]) - 1
        wait = 1 if index == 3 else (minute + MINUTE if index < 2 else day + DAY) - int(now)
        return Refusal(LIMIT_NAMES[index], allowed[index], int(found[1]), max(1, wait))
    used = dict(zip(LIMIT_NAMES[:3], (int(value) for value in found[1:]), strict=True))
    return Granted(Reservation(tenant, minute, day, input_tokens, output_tokens), used)


def release(client: redis.Redis, reservation: Reservation, task_id: str) -> None:
    """Gives a whole reservation back: its request was not accepted after all (Redis failed on the way)."""
    keys, args = settlement(reservation, task_id, 0, 0)
    client.register_script(_RELEASE)(keys, args)


def limited(limits: Limits) -> bool:
    """Whether any budget applies (the request rate is flask-limiter's, not this module's)."""
    return any(getattr(limits, name) is not None for name in LIMIT_NAMES)


def settlement(
    reservation: Reservation, task_id: str, input_tokens: int, output_tokens: int
) -> tuple[list[str], list[Any]]:
    """The keys and arguments of a task's settlement, for the usage script that runs it once (usage.py)."""
    tenant = reservation.tenant
    keys = [budget_key(tenant, MINUTE, reservation.minute), budget_key(tenant, DAY, reservation.day)]
    keys.append(in_flight_key(tenant))
    given_back = (input_tokens - reservation.input_tokens, output_tokens - reservation.output_tokens)
    return keys, [*given_back, task_id]


def _or_none(limit: int | None) -> int:
    return NO_LIMIT if limit is None else limit
