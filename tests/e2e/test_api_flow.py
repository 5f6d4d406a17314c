"""The API document's flows, end to end: Gunicorn, Redis, a real Dramatiq worker and the tiny model."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import requests

from ..support.stack import (
    API_KEY,
    Api,
    RedisServer,
    Started,
    submit,
    wait_for_final,
    wait_until,
)

HEADERS = {"X-API-Key": API_KEY}
METRIC_NAMES = {
    "queue_wait_time",
    "processing_time",
    "total_time",
    "prompt_tokens",
    "completion_tokens",
    "tokens_per_second",
    "finish_reason",
    "cached_tokens",
}


def test_curl_flow_from_the_document(api: Api) -> None:
    # Given the document's three curl steps (jq swapped for python, the fixed sleep for a poll)
    script = f"""
    set -euo pipefail
    BASE={api.base_url}
    TASK_ID=$(curl -s -X POST "$BASE/generate" -H "X-API-Key: {API_KEY}" -H "Content-Type: application/json" \\
      -d '{{"prompt": "Write a joke about AI", "max_tokens": 100}}' \\
      | python3 -c 'import json, sys; print(json.load(sys.stdin)["task_id"])')
    echo "Task ID: $TASK_ID"
    curl -s -X GET "$BASE/status/$TASK_ID" -H "X-API-Key: {API_KEY}"; echo
    for i in $(seq 300); do
      BODY=$(curl -s -X GET "$BASE/result/$TASK_ID" -H "X-API-Key: {API_KEY}")
      case "$BODY" in *'"completed"'*) echo "$BODY"; exit 0;; esac
      sleep 0.1
    done
    exit 1
    """
    # When it runs
    run = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
    # Then it printed an id, a known status, and a completed result with all its metrics
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith("Task ID: ") and len(lines[0]) > len("Task ID: ")
    assert any(f'"status":"{s}"' in lines[1] for s in ("queued", "processing", "completed"))
    assert '"status":"completed"' in lines[-1] and all(name in lines[-1] for name in METRIC_NAMES)


def test_python_example_from_the_document(api: Api, capsys: object) -> None:
    # Given the document's "Python (Simple)" example, unchanged but for the base URL and poll interval
    API_KEY_ = API_KEY
    BASE_URL = api.base_url
    response = requests.post(
        f"{BASE_URL}/generate",
        headers={"X-API-Key": API_KEY_},
        json={"prompt": "Explain machine learning in simple terms", "max_tokens": 256, "temperature": 0.7},
    )
    task_id = response.json()["task_id"]
    print(f"Task ID: {task_id}")
    while True:
        result = requests.get(f"{BASE_URL}/result/{task_id}", headers={"X-API-Key": API_KEY_}).json()
        if result["status"] == "completed":
            print("\nResult:", result["result"])
            print("\nMetrics:", result["metrics"])
            break
        elif result["status"] == "error":
            print("Error:", result["error_message"])
            break
        else:
            print(f"Status: {result['status']}...")
            time.sleep(0.1)
    # Then it ended on a completed result
    output = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "\nResult:" in output and "'completion_tokens'" in output and "Error:" not in output


def test_completed_result_has_the_documented_shape_and_exact_counts(api: Api) -> None:
    # Given a greedy request (the tiny model never ends greedy output early)
    prompt = "héllo, wörld ✓"
    task_id = submit(api, prompt=prompt, max_tokens=16, temperature=0, user_id="u-1")
    # When it finishes
    body = wait_for_final(api, task_id)
    # Then the shape is the document's and the counts are exact
    assert set(body) == {"status", "task_id", "result", "metrics"}
    assert body["status"] == "completed" and body["task_id"] == task_id and isinstance(body["result"], str)
    metrics = body["metrics"]
    assert set(metrics) == METRIC_NAMES
    assert metrics["prompt_tokens"] == len(prompt.encode())  # one token per byte
    assert metrics["completion_tokens"] == 16
    assert metrics["cached_tokens"] == 0  # a prompt shorter than one prefix cache block
    assert metrics["total_time"] >= metrics["processing_time"] > 0 and metrics["queue_wait_time"] >= 0
    assert metrics["tokens_per_second"] > 0
    status = requests.get(api.url(f"/status/{task_id}"), headers=HEADERS, timeout=5).json()
    assert status == {"status": "completed", "task_id": task_id, "message": "Task completed successfully"}


def test_greedy_output_is_deterministic_and_defaults_apply(api: Api) -> None:
    first = wait_for_final(api, submit(api, prompt="same prompt", max_tokens=24, temperature=0))
    second = wait_for_final(api, submit(api, prompt="same prompt", max_tokens=24, temperature=0))
    assert first["result"] == second["result"]
    # No max_tokens: the server's MAX_NEW_TOKENS (512) applies
    defaulted = wait_for_final(api, submit(api, prompt="defaults", temperature=0))
    assert defaulted["metrics"]["completion_tokens"] == 512


def test_status_reports_processing_while_generating(api: Api) -> None:
    # Given a long generation (about a second on a CPU)
    task_id = submit(api, prompt="long", max_tokens=1000, temperature=0)

    def status() -> str:
        body = requests.get(api.url(f"/status/{task_id}"), headers=HEADERS, timeout=5).json()
        assert body["task_id"] == task_id and body["message"]
        return str(body["status"])

    # Then it is seen processing, with the still-processing shape on /result, and later completed
    wait_until(lambda: status() == "processing", 30, "the task to be processing", interval=0.01)
    in_progress = requests.get(api.url(f"/result/{task_id}"), headers=HEADERS, timeout=5).json()
    assert in_progress["status"] in ("processing", "completed")
    if in_progress["status"] == "processing":
        message = "Task is currently being processed"
        assert in_progress == {"status": "processing", "task_id": task_id, "message": message}
    assert wait_for_final(api, task_id)["status"] == "completed"


def test_requests_wait_in_redis_until_a_worker_for_their_model_starts(
    started: Started, redis_server: RedisServer, tiny_model: Path, log_dir: Path
) -> None:
    # Given an api whose default model has no worker yet
    settings = {"model_name": tiny_model, "served_model_name": "late-model", "log_dir": log_dir}
    api = started.api(redis_server.url(), api_keys=API_KEY, **settings)
    task_id = submit(api, prompt="wait for me", max_tokens=4)
    # Then the task stays queued, with the queued shape
    body = requests.get(api.url(f"/result/{task_id}"), headers=HEADERS, timeout=5).json()
    assert body == {"status": "queued", "task_id": task_id, "message": "Task is waiting in the queue"}
    # When a worker for that model starts, the waiting task completes
    started.worker(redis_server.url(), **settings)
    assert wait_for_final(api, task_id)["status"] == "completed"
