"""A task that fails ends `failed` with the reason; the worker lives on and serves the next one."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from ..support.stack import API_KEY, Api, Process, RedisServer, Started, submit, wait_for_final

HEADERS = {"X-API-Key": API_KEY}


@pytest.fixture(scope="module")
def short_limit_worker(
    module_started: Started, redis_server: RedisServer, tiny_model: Path, log_dir: Path, api: Api
) -> Process:
    """The same model under another name, with a 0.2 s TASK_TIME_LIMIT."""
    return module_started.worker(
        redis_server.url(),
        model_name=tiny_model,
        served_model_name="tiny-short",
        log_dir=log_dir,
        task_time_limit=0.2,
    )


def test_task_past_the_time_limit_fails_with_timeout_error(api: Api, short_limit_worker: Process) -> None:
    # Given a generation far longer than 0.2 s (1000 tokens at about a millisecond each, or slower)
    task_id = submit(api, prompt="go on", max_tokens=1000, temperature=0, model="tiny-short")
    # Then it fails with TimeoutError, in the error shape, and /status says why
    body = wait_for_final(api, task_id)
    assert body == {
        "status": "error",
        "task_id": task_id,
        "error_message": body["error_message"],
        "error_type": "TimeoutError",
    }
    assert "time limit" in body["error_message"]
    status = requests.get(api.url(f"/status/{task_id}"), headers=HEADERS, timeout=5).json()
    assert status["status"] == "failed" and "TimeoutError" in status["message"]
    # And the same worker completes the next, short task
    assert short_limit_worker.alive()
    assert wait_for_final(api, submit(api, prompt="short", max_tokens=1, model="tiny-short"))["status"] == "completed"


def test_failing_generation_fails_the_task_with_its_exception_and_the_worker_lives(api: Api, worker: Process) -> None:
    # Given a prompt longer than the model's 1024-token context
    task_id = submit(api, prompt="x" * 1100, max_tokens=4)
    # Then the task fails with the exception's type and message
    body = wait_for_final(api, task_id)
    assert body["status"] == "error" and body["error_type"] == "ContextLengthError"
    assert "exceed the model's context of 1024 tokens" in body["error_message"]
    # And the worker goes on to complete the next task
    assert worker.alive()
    assert wait_for_final(api, submit(api, prompt="fine", max_tokens=3))["status"] == "completed"
