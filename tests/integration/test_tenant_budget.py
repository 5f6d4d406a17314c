"""Tenants' budgets on a real Redis: reserved when a request is accepted, refused past a limit with the limit
named and when to come back, settled once with the real usage when the task ends."""

from __future__ import annotations

import time
import uuid

import redis

from contract import tenant_budget
from contract.names import budget_key, in_flight_key
from contract.task_params import TaskParams
from contract.task_store import TaskStore
from contract.tenant_budget import DAY, MINUTE, Granted, Refusal
from contract.tenants import Limits

PARAMS = TaskParams(prompt="p", max_tokens=50, temperature=0.0, top_p=1.0)


def tenant_name() -> str:
    return f"t-{uuid.uuid4().hex[:8]}"


def test_a_minute_budget_refuses_past_its_limit_naming_it(redis_client: redis.Redis) -> None:
    tenant, limits = tenant_name(), Limits(output_tokens_per_minute=100)
    # Given two requests of 50 output tokens that fit the minute's 100
    for i in range(2):
        found = tenant_budget.reserve(redis_client, tenant, limits, f"t{i}", input_tokens=5, output_tokens=50, hold=60)
        assert isinstance(found, Granted)
    assert found.used["output_tokens_per_minute"] == 100
    # When a third asks for 50 more
    refused = tenant_budget.reserve(redis_client, tenant, limits, "t3", input_tokens=5, output_tokens=50, hold=60)
    # Then it is refused, naming the limit, until the next minute
    assert isinstance(refused, Refusal)
    assert (refused.limit, refused.allowed, refused.used) == ("output_tokens_per_minute", 100, 100)
    assert 1 <= refused.retry_after <= MINUTE
    # and it reserved nothing
    minute = int(time.time() // MINUTE * MINUTE)
    assert redis_client.hget(budget_key(tenant, MINUTE, minute), "output") in ("100", None)


def test_requests_in_flight_are_bounded_and_freed_when_their_task_ends(redis_client: redis.Redis) -> None:
    store, tenant, limits = TaskStore(redis_client, 3600), tenant_name(), Limits(max_in_flight=1)
    # Given a tenant allowed one request in flight, which it has
    task_id = f"f-{uuid.uuid4()}"
    first = tenant_budget.reserve(redis_client, tenant, limits, task_id, input_tokens=1, output_tokens=1, hold=60)
    assert isinstance(first, Granted)
    record = store.create(
        task_id, owner="k", model="m", params=PARAMS, user_id=None, tenant=tenant, reservation=first.reservation
    )
    # Then a second is refused
    second = tenant_budget.reserve(redis_client, tenant, limits, "two", input_tokens=1, output_tokens=1, hold=60)
    assert isinstance(second, Refusal) and (second.limit, second.retry_after) == ("max_in_flight", 1)
    # When the first ends, the next is let in
    store.fail(record, error_type="Cancelled", error_message="gone")
    third = tenant_budget.reserve(redis_client, tenant, limits, "three", input_tokens=1, output_tokens=1, hold=60)
    assert isinstance(third, Granted)


def reserve_one(db: redis.Redis, tenant: str, limits: Limits, task_id: str, hold: int) -> object:
    return tenant_budget.reserve(db, tenant, limits, task_id, input_tokens=1, output_tokens=1, hold=hold)


def test_a_place_whose_task_never_ended_lapses(redis_client: redis.Redis) -> None:
    tenant, limits = tenant_name(), Limits(max_in_flight=1)
    assert isinstance(reserve_one(redis_client, tenant, limits, "a", hold=1), Granted)
    assert isinstance(reserve_one(redis_client, tenant, limits, "b", hold=1), Refusal)
    time.sleep(1.1)  # the place's hold (a task lost without a final write; it cannot block its tenant for ever)
    assert isinstance(reserve_one(redis_client, tenant, limits, "c", hold=1), Granted)


def test_the_unused_part_is_given_back_once_when_the_task_ends(redis_client: redis.Redis) -> None:
    store, tenant = TaskStore(redis_client, 3600), tenant_name()
    limits = Limits(input_tokens_per_minute=1000, output_tokens_per_minute=1000, tokens_per_day=10_000)
    task_id = f"s-{uuid.uuid4()}"
    # Given a request that reserved 20 input and 50 output tokens
    found = tenant_budget.reserve(redis_client, tenant, limits, task_id, input_tokens=20, output_tokens=50, hold=60)
    assert isinstance(found, Granted)
    reservation = found.reservation
    record = store.create(
        task_id, owner="k", model="m", params=PARAMS, user_id=None, tenant=tenant, reservation=reservation
    )
    # When its task completes having used 18 and 7, and completes again (a message run twice)
    metrics = {"prompt_tokens": 18, "completion_tokens": 7}
    for _ in range(2):
        assert store.complete(record, result="x", metrics=metrics, finished_at=time.time()) is not None
    # Then the budgets hold what it really used, and it is no longer in flight
    minute = budget_key(tenant, MINUTE, reservation.minute)
    assert redis_client.hgetall(minute) == {"input": "18", "output": "7"}
    assert redis_client.get(budget_key(tenant, DAY, reservation.day)) == "25"
    assert redis_client.zcard(in_flight_key(tenant)) == 0
    # and the record says whose it was
    assert store.get(task_id).tenant == tenant  # type: ignore[union-attr]
