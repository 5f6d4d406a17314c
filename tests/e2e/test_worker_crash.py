"""A worker killed with SIGKILL in the middle of a batch loses no task: another worker finishes them, and each
is counted once."""

from __future__ import annotations

import time

import redis

from contract import tenants, usage
from contract.model_registry import digest
from contract.names import budget_key, in_flight_key
from contract.tenant_budget import DAY
from contract.tenants import Limits, Tenant

from ..support.stack import (
    API_KEY,
    RedisServer,
    Started,
    kill_worker,
    sse_events,
    statuses,
    submit,
    wait_for_final,
    wait_until,
)


def test_tasks_of_a_killed_worker_are_redelivered_and_complete(
    started: Started, redis_server: RedisServer, model_settings: dict[str, object]
) -> None:
    # Given a worker that is taken for dead after 2 s of silence, busy with a batch of long requests
    settings = {**model_settings, "served_model_name": "crash", "worker_lost_after": 2, "heartbeat_interval": 0.5}
    url = redis_server.url(db=7)
    db = redis.Redis.from_url(url, decode_responses=True)
    # (its key in a tenant with a budget, so each task holds a reservation until it ends)
    team = Tenant("crash-team", "default/crash", [digest(API_KEY)], limits=Limits(tokens_per_day=1_000_000))
    tenants.publish(db, team)
    api = started.api(url, api_keys=API_KEY, **settings)
    first = started.worker(url, **settings)
    ids = [submit(api, prompt=f"long {index}", max_tokens=900, temperature=0) for index in range(6)]

    def processing() -> bool:
        found = statuses(api, ids)
        return found.count("processing") >= 3 and "completed" not in found

    wait_until(processing, 30, "the batch to be generating")
    # When it is killed mid-batch and another worker starts
    killed_at = time.monotonic()
    kill_worker(first)
    started.worker(url, **settings)
    # Then every task completes in full, and its stream says where generation started over
    results = [wait_for_final(api, task_id, timeout=120) for task_id in ids]
    for result in results:
        assert result["status"] == "completed" and result["metrics"]["completion_tokens"] == 900
    # (reported, not asserted: docs/reliability.md records it; run with -s to see it)
    print(f"\nall {len(ids)} tasks completed {time.monotonic() - killed_at:.1f} s after the SIGKILL")
    restarted = 0
    for task_id in ids:
        events = [event["data"] for event in sse_events(api, task_id)]
        starts = [index for index, event in enumerate(events) if event.get("restarted")]
        if starts:  # it was generating when the worker died; what followed the restart is the whole text
            restarted += 1
            assert "".join(event.get("delta", "") for event in events[starts[-1] :]) == events[-1]["result"]
    assert restarted >= 3
    # and each task is counted once in its tenant's usage, and settled once, though the restarted ones ran twice
    counted = [(entry.tenant, entry.num_model_requests, entry.output_tokens) for entry in usage.totals(db)]
    assert counted == [(team.name, len(ids), 900 * len(ids))]
    assert db.zcard(in_flight_key(team.name)) == 0
    today = int(time.time()) // DAY * DAY
    spent = int(db.get(budget_key(team.name, DAY, today)) or 0)  # what it really used replaced what it reserved
    assert spent == sum(result["metrics"]["prompt_tokens"] + 900 for result in results)
