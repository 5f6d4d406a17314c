"""Requests through the api Service go all the way: the api pod queues them in the Redis pod, a worker
pod generates, and the result and its stream come back through the Service."""

from __future__ import annotations

import openai

from tests.support.stack import Api, sse_events, submit, wait_for_final

from .cluster import PREFIX, LocalCluster


def test_generate_stream_and_result_through_the_service(api: Api, key: str) -> None:
    # Given the chart's api Service (202 from /generate)
    task_id = submit(api, key, prompt="Hello from a pod", max_tokens=12, temperature=0)
    # Then the stream carries the deltas, and the result is completed with its metrics
    events = [event["data"] for event in sse_events(api, task_id, key)]
    deltas = "".join(event.get("delta", "") for event in events)
    assert deltas and events[-1]["status"] == "completed"
    result = wait_for_final(api, task_id, key)
    assert result["status"] == "completed" and result["result"] == deltas
    assert result["metrics"]["completion_tokens"] == 12 and result["metrics"]["processing_time"] > 0


def test_the_api_through_kubectl_port_forward(installed: LocalCluster, key: str) -> None:
    # As `make cluster` prints it: the API server asks the kubelet to forward a loopback port to a pod
    forward, url = installed.port_forward(f"{PREFIX}-api", 80)
    try:
        api = Api(forward, url)
        assert wait_for_final(api, submit(api, key, prompt="forwarded", max_tokens=3), key)["status"] == "completed"
    finally:
        forward.stop()


def test_chat_completions_with_the_openai_client(api: Api, key: str) -> None:
    client = openai.OpenAI(base_url=api.url("/v1"), api_key=key, max_retries=0, timeout=60)
    assert [model.id for model in client.models.list()] == ["tiny"]
    reply = client.chat.completions.create(
        model="tiny", messages=[{"role": "user", "content": "Hi"}], max_tokens=5, temperature=0
    )
    assert (
        reply.choices[0].finish_reason in ("length", "stop") and reply.usage and 0 < reply.usage.completion_tokens <= 5
    )
    chunks = client.chat.completions.create(
        model="tiny", messages=[{"role": "user", "content": "Hi"}], max_tokens=5, temperature=0, stream=True
    )
    streamed = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert streamed == reply.choices[0].message.content
