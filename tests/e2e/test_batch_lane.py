"""The offline lane: batch lines take only the room interactive requests leave, never the other way round,
and a worker SIGKILLed mid-batch loses no line and answers none twice."""

from __future__ import annotations

import time
from dataclasses import dataclass

import openai
import pytest
import redis

from contract.dramatiq_internals import in_flight, waiting

from ..support.batches import chat_line, finished, jsonl, line_statuses, start_batch
from ..support.stack import (
    API_KEY,
    Api,
    Process,
    RedisServer,
    Started,
    kill_worker,
    statuses,
    submit,
    wait_for_final,
    wait_until,
)

# A worker whose batch holds two requests, and two offline slots beside them
LANE = {"max_batch_size": 2, "offline_slots": 2}


@dataclass
class Lane:
    """An api on a flushed Redis database, its clients, and the workers a test starts (stopped after it)."""

    started: Started
    url: str
    settings: dict[str, object]
    api: Api
    client: openai.OpenAI
    db: redis.Redis

    def worker(self, **settings: object) -> Process:
        return self.started.worker(self.url, **settings, **self.settings)


@pytest.fixture
def lane(started: Started, redis_server: RedisServer, model_settings: dict[str, object]) -> Lane:
    url = redis_server.url(db=15)
    redis.Redis.from_url(url).flushdb()
    api = started.api(url, api_keys=API_KEY, **model_settings)
    client = openai.OpenAI(base_url=api.url("/v1"), api_key=API_KEY, max_retries=0, timeout=60)
    return Lane(started, url, model_settings, api, client, redis.Redis.from_url(url, decode_responses=True))


def test_batch_lines_wait_while_interactive_requests_fill_the_batch(lane: Lane) -> None:
    api, client = lane.api, lane.client
    lane.worker(**LANE)
    # Given two long interactive requests that fill the worker's batch
    # (900 tokens, never stopping early: long enough on a fast machine to watch the lines wait)
    busy = [submit(api, prompt=f"long {index}", max_tokens=900, ignore_eos=True) for index in range(2)]
    wait_until(lambda: statuses(api, busy) == ["processing", "processing"], 30, "both to be generating")
    # When a batch arrives
    batch = start_batch(client, [chat_line(f"l-{index}", "short") for index in range(4)])
    # Then none of its lines starts while they run (lines read first: if both requests still run after,
    # they ran while the lines were read)
    watched = 0
    while watched < 30:
        lines_now = set(line_statuses(lane.db, batch.id))
        if statuses(api, busy) != ["processing", "processing"]:
            break
        assert lines_now == {"queued"}
        watched += 1
        time.sleep(0.05)
    assert watched >= 5, "the interactive requests ended too soon to tell"
    # and once they are done, the batch runs to its end
    for task_id in busy:
        assert wait_for_final(api, task_id, timeout=120)["status"] == "completed"
    assert finished(client, batch.id, 60).request_counts.completed == 4


def test_an_interactive_request_starts_at_once_while_batch_lines_fill_the_batch(lane: Lane) -> None:
    client, db = lane.client, lane.db
    lane.worker(**LANE)
    # Given batch lines that fill the worker's batch, more waiting behind them
    batch = start_batch(
        client, [chat_line(f"l-{index}", f"long {index}", max_tokens=600, ignore_eos=True) for index in range(6)]
    )
    wait_until(lambda: line_statuses(db, batch.id).count("processing") == 2, 30, "two lines generating")
    # When an interactive request arrives
    task_id = submit(lane.api, prompt="now", max_tokens=5, temperature=0)
    # Then it runs beside them, and is answered while the lines are still generating
    final = wait_for_final(lane.api, task_id, timeout=20)
    assert final["status"] == "completed" and final["metrics"]["queue_wait_time"] < 3.0
    assert line_statuses(db, batch.id).count("processing") == 2
    client.batches.cancel(batch.id)
    finished(client, batch.id, 60)


def test_a_worker_killed_mid_batch_loses_no_line_and_answers_none_twice(lane: Lane) -> None:
    client, db = lane.client, lane.db
    lost = {"worker_lost_after": 2, "heartbeat_interval": 0.5, "offline_slots": 4}
    first = lane.worker(**lost)
    # Given a batch part answered, part generating
    batch = start_batch(
        client, [chat_line(f"k-{index}", f"line {index}", max_tokens=150, ignore_eos=True) for index in range(24)]
    )

    def midway() -> bool:
        found = line_statuses(db, batch.id)
        return found.count("completed") >= 4 and found.count("processing") >= 2

    wait_until(midway, 120, "the batch to be part answered and part generating")
    # When its worker is SIGKILLed and another starts
    kill_worker(first)
    lane.worker(**lost)
    # Then the batch completes with every line answered exactly once
    done = finished(client, batch.id, 240)
    assert done.status == "completed" and done.request_counts.completed == 24
    output = jsonl(client, done.output_file_id)
    assert sorted(line["custom_id"] for line in output) == sorted(f"k-{index}" for index in range(24))
    assert all(line["response"]["body"]["usage"]["completion_tokens"] == 150 for line in output)


def test_a_worker_stopped_mid_batch_finishes_its_lines_and_takes_no_more(lane: Lane) -> None:
    client, db = lane.client, lane.db
    worker = lane.worker(offline_slots=2)
    lines = [chat_line(f"g-{index}", f"line {index}", max_tokens=900, ignore_eos=True) for index in range(6)]
    batch = start_batch(client, lines)
    wait_until(lambda: line_statuses(db, batch.id).count("processing") == 2, 60, "two lines generating")
    running = [index for index, status in enumerate(line_statuses(db, batch.id)) if status == "processing"]
    # When the worker is stopped (SIGTERM, as Kubernetes stops a pod)
    worker.stop(timeout=120)
    # Then the lines it was running were finished and answered; the others wait, untouched
    found = line_statuses(db, batch.id)
    assert [found[index] for index in running] == ["completed", "completed"]
    assert found.count("queued") == 4
    assert client.batches.retrieve(batch.id).request_counts.completed == 2
    assert waiting(db, "tiny", offline=True) == 4 and in_flight(db, "tiny", offline=True) == 0
