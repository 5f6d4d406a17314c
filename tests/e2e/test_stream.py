"""GET /stream/{id}: Server-Sent Events with token deltas, replay, Last-Event-ID and keep-alives."""

from __future__ import annotations

import requests

from ..support.stack import (
    API_KEY,
    Api,
    RedisServer,
    Started,
    parse_sse,
    sse_events,
    submit,
    wait_for_final,
)

ORDER = {"queued": 0, "processing": 1, "completed": 2, "failed": 2}


def test_events_arrive_in_order_and_deltas_join_to_the_result(api: Api) -> None:
    # Given a task being generated
    task_id = submit(api, prompt="stream me", max_tokens=60, temperature=0)
    # When its stream is read to the end
    received = sse_events(api, task_id)
    statuses = [event["data"]["status"] for event in received]
    # Then statuses only move forward, every event has a message, and the last one is final
    assert statuses[0] in ("queued", "processing") and statuses[-1] == "completed"
    assert [ORDER[s] for s in statuses] == sorted(ORDER[s] for s in statuses)
    assert all(event["data"]["message"] for event in received)
    deltas = [event["data"]["delta"] for event in received if "delta" in event["data"]]
    final = received[-1]["data"]
    assert len(deltas) > 1 and "".join(deltas) == final["result"]
    assert final["metrics"]["completion_tokens"] == 60
    assert final == {**final, "status": "completed", "result": wait_for_final(api, task_id)["result"]}
    # And event ids are unique and increasing
    ids = [tuple(map(int, event["id"].split("-"))) for event in received]
    assert ids == sorted(set(ids))


def test_a_finished_task_replays_and_a_reconnect_gets_only_what_it_missed(api: Api) -> None:
    task_id = submit(api, prompt="replay", max_tokens=20, temperature=0)
    wait_for_final(api, task_id)
    # Opened after the end, the stream replays everything and ends
    replay = sse_events(api, task_id)
    assert replay[-1]["data"]["status"] == "completed" and any("delta" in event["data"] for event in replay)
    # Reconnecting with Last-Event-ID gets the rest, nothing twice
    cut = len(replay) // 2
    rest = sse_events(api, task_id, last_event_id=replay[cut]["id"])
    assert rest == replay[cut + 1 :]


def test_a_failed_task_ends_its_stream_with_the_error(api: Api) -> None:
    task_id = submit(api, prompt="y" * 1100, max_tokens=2)
    final = sse_events(api, task_id)[-1]["data"]
    assert (final["status"], final["error_type"]) == ("failed", "ContextLengthError") and final["error_message"]


def test_the_key_may_come_as_a_query_parameter_on_this_route(api: Api) -> None:
    # (on no other route, and a wrong or another key's: tests/api's test_auth)
    task_id = submit(api, prompt="query key", max_tokens=3)
    with requests.get(api.url(f"/stream/{task_id}?api_key={API_KEY}"), stream=True, timeout=30) as response:
        assert response.status_code == 200
        assert parse_sse(response.iter_lines(decode_unicode=True))[-1]["data"]["status"] == "completed"


def test_an_idle_stream_gets_keep_alive_comments(
    started: Started, redis_server: RedisServer, model_settings: dict[str, object]
) -> None:
    # Given a task queued for a model no worker serves, and a short keep-alive
    settings = {**model_settings, "served_model_name": "nobody-serves-this"}
    api = started.api(redis_server.url(db=5), api_keys=API_KEY, sse_keepalive_seconds=0.3, **settings)
    task_id = submit(api, prompt="wait", max_tokens=2)
    with requests.get(api.url(f"/stream/{task_id}"), headers={"X-API-Key": API_KEY}, stream=True, timeout=30) as r:
        lines = r.iter_lines(decode_unicode=True)
        # Then the queued event comes first, and then comment lines keep the connection alive
        assert next(lines).startswith("id: ")
        assert '"status": "queued"' in next(lines)
        assert [line for line in (next(lines) for _ in range(4)) if line] == [": keep-alive"] * 2


def test_coalesced_deltas_carry_exactly_the_text_of_uncoalesced_ones(
    started: Started, api: Api, redis_server: RedisServer, model_settings: dict[str, object]
) -> None:
    # Given the session's worker (STREAM_INTERVAL's default) and one that writes every delta at once
    started.worker(redis_server.url(), **{**model_settings, "served_model_name": "tiny-every-delta"}, stream_interval=0)
    texts = {}
    for model in ("tiny", "tiny-every-delta"):
        task_id = submit(api, prompt="same text", max_tokens=120, temperature=0, model=model)
        received = [event["data"] for event in sse_events(api, task_id)]
        texts[model] = ([e["delta"] for e in received if "delta" in e], received[-1]["result"])
    # Then the text is the same, in fewer deltas where they were coalesced
    (coalesced, result), (each, same_result) = texts["tiny"], texts["tiny-every-delta"]
    assert "".join(coalesced) == result == same_result == "".join(each)
    assert len(coalesced) < len(each)
