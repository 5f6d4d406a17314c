"""POST /cancel/{task_id} on tasks no worker has claimed (this tier has none): a queued task ends `cancelled`
at once and everything that reads it says so; a finished one is 409; another key's is 404."""

from __future__ import annotations

import redis
from flask.testing import FlaskClient

from api.http.auth import key_id
from contract.task_params import TaskParams
from contract.task_store import TaskStore

from ..support.stack import API_KEY, OTHER_KEY

HEADERS = {"X-API-Key": API_KEY}


def queued(client: FlaskClient) -> str:
    response = client.post("/generate", headers=HEADERS, json={"prompt": "hello", "max_tokens": 4})
    assert response.status_code == 202
    task_id: str = response.get_json()["task_id"]
    return task_id


def test_a_queued_task_is_cancelled_at_once(client: FlaskClient, redis_client: redis.Redis) -> None:
    task_id = queued(client)
    # When its owner cancels it
    cancelled = client.post(f"/cancel/{task_id}", headers=HEADERS)
    # Then it is cancelled now, and /status, /result and the stream's last event say so
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert client.get(f"/status/{task_id}", headers=HEADERS).get_json()["status"] == "cancelled"
    assert client.get(f"/result/{task_id}", headers=HEADERS).get_json() == {
        "status": "cancelled",
        "task_id": task_id,
        "message": "Task cancelled",
    }
    stream = client.get(f"/stream/{task_id}", headers=HEADERS).get_data(as_text=True)
    assert '"status": "cancelled"' in stream.strip().splitlines()[-1]
    # and cancelling it again answers the same
    assert client.post(f"/cancel/{task_id}", headers=HEADERS).get_json()["status"] == "cancelled"
    # and a worker that takes its message later finds it final and skips it
    assert TaskStore(redis_client, 3600).mark_processing(task_id).status.value == "cancelled"  # type: ignore[union-attr]


def test_only_the_owner_may_cancel_and_a_finished_task_cannot_be(
    client: FlaskClient, redis_client: redis.Redis
) -> None:
    task_id = queued(client)
    assert client.post(f"/cancel/{task_id}", headers={"X-API-Key": OTHER_KEY}).status_code == 404
    assert client.post("/cancel/no-such-task", headers=HEADERS).status_code == 404
    store = TaskStore(redis_client, 3600)
    params = TaskParams(prompt="p", max_tokens=1, temperature=0.0, top_p=1.0)
    done = store.create("done-task-" + task_id, owner=key_id(API_KEY), model="tiny", params=params, user_id=None)
    store.complete(done, result="x", metrics={}, finished_at=done.created_at)
    refused = client.post(f"/cancel/{done.task_id}", headers=HEADERS)
    assert refused.status_code == 409 and "already completed" in refused.get_json()["error"]
    assert client.get(f"/status/{done.task_id}", headers=HEADERS).get_json()["status"] == "completed"
