"""Nothing accepted is lost: faults caused on purpose (SIGTERM to a busy worker, Redis restarted under
load, a Gunicorn worker killed mid-request), and every task that got a 202 ends completed."""

from __future__ import annotations

import os
import signal
import threading

import requests

from ..support.stack import (
    API_KEY,
    RedisServer,
    Started,
    children_of,
    sse_events,
    statuses,
    submit,
    wait_for_final,
    wait_until,
)


def test_a_worker_sent_sigterm_finishes_what_it_generates_and_returns_the_rest(
    started: Started, redis_server: RedisServer, model_settings: dict[str, object]
) -> None:
    # Given a worker with room for two requests, busy with two long ones, four more waiting
    settings = {**model_settings, "served_model_name": "drain", "max_batch_size": 2}
    url = redis_server.url(db=3)
    api = started.api(url, api_keys=API_KEY, **settings)
    first = started.worker(url, **settings)
    ids = [submit(api, prompt=f"drain {index}", max_tokens=200, temperature=0) for index in range(6)]
    wait_until(lambda: statuses(api, ids).count("processing") == 2, 30, "two generating")
    # When it is told to stop
    first.popen.send_signal(signal.SIGTERM)
    exit_code = first.popen.wait(timeout=120)
    # Then it exits cleanly after finishing the two it was generating, which never restart
    assert exit_code == 0
    finished = [task_id for task_id, status in zip(ids, statuses(api, ids), strict=True) if status == "completed"]
    assert len(finished) >= 2
    for task_id in finished:
        assert not any(event["data"].get("restarted") for event in sse_events(api, task_id))
    # And the rest went back to the queue: a new worker completes every one
    started.worker(url, **settings)
    for task_id in ids:
        result = wait_for_final(api, task_id, timeout=120)
        assert result["status"] == "completed" and result["metrics"]["completion_tokens"] == 200


def test_redis_restarted_under_load_loses_no_accepted_task(started: Started, model_settings: dict[str, object]) -> None:
    # Given Redis with its append-only file (fsync always), an api and a worker, and tasks flowing
    server = started.redis(persistent=True)
    settings = {**model_settings, "served_model_name": "aof", "rate_limit_per_minute": 1000, "rate_limit_burst": 1000}
    api = started.api(server.url(), api_keys=API_KEY, **settings)
    started.worker(server.url(), **settings)
    accepted = [submit(api, prompt=f"before {index}", max_tokens=400, temperature=0) for index in range(8)]
    wait_until(lambda: "processing" in statuses(api, accepted), 30, "generation under way")
    # When Redis stops under load (mid-generation): submissions are 503 with Retry-After, never 500
    server.stop()
    down = requests.post(api.url("/generate"), headers={"X-API-Key": API_KEY}, json={"prompt": "x"}, timeout=10)
    assert down.status_code == 503 and "Retry-After" in down.headers and "Redis" in down.json()["error"]
    # And it comes back on the same port, from its append-only file
    server.start()
    wait_until(lambda: requests.get(api.url("/health"), timeout=5).status_code == 200, 30, "the api recovered")
    accepted += [submit(api, prompt=f"after {index}", max_tokens=40, temperature=0) for index in range(4)]
    # Then every accepted task ends completed: none vanished with the restart
    for task_id in accepted:
        final = wait_for_final(api, task_id, timeout=180)
        assert final["status"] == "completed", final


def test_a_gunicorn_worker_killed_mid_request_loses_nothing_acknowledged(
    started: Started, redis_server: RedisServer, model_settings: dict[str, object]
) -> None:
    # Given clients submitting steadily
    settings = {**model_settings, "served_model_name": "gunicorn-kill"}
    url = redis_server.url(db=4)
    api = started.api(url, api_keys=API_KEY, rate_limit_per_minute=100_000, rate_limit_burst=10_000, **settings)
    started.worker(url, **settings)
    acknowledged: list[str] = []
    errors: list[str] = []
    stop = threading.Event()

    def client() -> None:
        while not stop.is_set():
            try:
                response = requests.post(
                    api.url("/generate"),
                    headers={"X-API-Key": API_KEY},
                    json={"prompt": "steady", "max_tokens": 2},
                    timeout=10,
                )
            except requests.RequestException as error:  # refused, reset, or cut mid-response
                errors.append(str(error))  # not acknowledged: the client knows to retry
                continue
            if response.status_code == 202:
                acknowledged.append(response.json()["task_id"])

    threads = [threading.Thread(target=client) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: len(acknowledged) >= 20, 30, "traffic")
        # When one Gunicorn worker is killed outright in the middle of it
        os.kill(sorted(children_of(api.process.pid))[0], signal.SIGKILL)
        served = len(acknowledged)
        wait_until(lambda: len(acknowledged) >= served + 10, 30, "traffic to go on after the kill")
        stop.set()
        for thread in threads:
            thread.join()
        # Then every request that was answered 202 ends completed
        assert len(acknowledged) >= 20
        for task_id in acknowledged:
            assert wait_for_final(api, task_id, timeout=120)["status"] == "completed", task_id
    finally:
        stop.set()
