"""Helpers for tests of the Batch API: input lines, uploads, waiting for a batch's end, reading its files."""

from __future__ import annotations

import io
import json
from typing import Any

import openai
import redis

from contract.names import batch_lines_key
from contract.task_store import TaskStore

from .stack import wait_until

MODEL = "tiny"
FINAL = frozenset({"completed", "failed", "expired", "cancelled"})


def chat_line(custom_id: str, text: str, **body: Any) -> dict[str, Any]:
    messages = [{"role": "user", "content": text}]
    request = {"model": MODEL, "messages": messages, "max_tokens": 3, "temperature": 0, **body}
    return {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions", "body": request}


def upload(client: openai.OpenAI, lines: list[dict[str, Any]] | str) -> str:
    text = lines if isinstance(lines, str) else "".join(json.dumps(line) + "\n" for line in lines)
    return client.files.create(file=("input.jsonl", io.BytesIO(text.encode())), purpose="batch").id


def start_batch(client: openai.OpenAI, lines: list[dict[str, Any]], **options: Any) -> Any:
    endpoint = lines[0]["url"]
    return client.batches.create(
        input_file_id=upload(client, lines), endpoint=endpoint, completion_window="24h", **options
    )


def finished(client: openai.OpenAI, batch_id: str, timeout: float) -> Any:
    def ended() -> Any:
        found = client.batches.retrieve(batch_id)
        return found if found.status in FINAL else None

    return wait_until(ended, timeout, f"batch {batch_id} to end", interval=0.2)


def jsonl(client: openai.OpenAI, file_id: str | None) -> list[dict[str, Any]]:
    if file_id is None:
        return []
    return [json.loads(line) for line in client.files.content(file_id).text.splitlines()]


def line_statuses(client: redis.Redis, batch_id: str) -> list[str]:
    """Each line's task status, from its task record (the test reads Redis; users read the files)."""
    store = TaskStore(client, 60)
    lines = [json.loads(line) for line in client.lrange(batch_lines_key(batch_id), 0, -1)]  # type: ignore[union-attr]
    return [record.status.value if (record := store.get(line["task_id"])) else "gone" for line in lines]
