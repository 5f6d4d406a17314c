"""Cancelling a running task by id, end to end: the engine drops it at its next step, its slot is free for
the next request, it ends `cancelled` (its stream and record say so) and is counted once."""

from __future__ import annotations

import time

import redis
import requests

from contract import usage

from ..support.stack import API_KEY, RedisServer, Started, sse_events, statuses, submit, wait_for_final, wait_until

HEADERS = {"X-API-Key": API_KEY}


def test_a_running_task_cancelled_by_id_frees_its_slot_at_the_next_step(
    started: Started, redis_server: RedisServer, model_settings: dict[str, object]
) -> None:
    # Given a worker with one slot, running a long request, and another request waiting behind it
    settings = {**model_settings, "served_model_name": "cancel", "max_batch_size": 1}
    url = redis_server.url(db=13)
    api = started.api(url, api_keys=API_KEY, **settings)
    started.worker(url, **settings)
    long = submit(api, prompt="long", max_tokens=1000, temperature=0, ignore_eos=True)
    waiting = submit(api, prompt="next", max_tokens=4, temperature=0)
    wait_until(lambda: statuses(api, [long, waiting]) == ["processing", "queued"], 30, "the long one running")
    # When its owner cancels it
    asked = time.monotonic()
    answer = requests.post(api.url(f"/cancel/{long}"), headers=HEADERS, timeout=10)
    assert answer.status_code == 202 and answer.json()["status"] == "processing"
    # Then it ends cancelled, and the waiting request gets its slot and completes
    assert wait_for_final(api, long)["status"] == "cancelled"
    ended = time.monotonic() - asked
    assert wait_for_final(api, waiting)["status"] == "completed"
    freed = time.monotonic() - asked
    print(f"\ncancel to cancelled: {ended:.3f} s; cancel to the next request completed: {freed:.3f} s")
    # and its stream ends with the cancelled event
    events = [event["data"] for event in sse_events(api, long)]
    assert [event["status"] for event in events][-2:] == ["processing", "cancelled"]
    # and it is counted once, as a request (its tokens are not billed, as for a failure)
    db = redis.Redis.from_url(url, decode_responses=True)
    assert sum(entry.num_model_requests for entry in usage.totals(db)) == 2
    # and cancelling it again is answered with its final status
    assert requests.post(api.url(f"/cancel/{long}"), headers=HEADERS, timeout=10).json()["status"] == "cancelled"
