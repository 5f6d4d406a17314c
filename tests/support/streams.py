"""Many SSE clients at once, from one process (asyncio + aiohttp): for the tests and bench/streams.py."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import redis

from contract.connections import make_redis
from contract.task_store import TaskStore

from .stack import API_KEY, Api


@dataclass
class StreamResult:
    status: int = 0
    first_event_after: float | None = None
    """seconds from opening the connection to the first event"""
    events: list[dict[str, Any]] = field(default_factory=list)
    received_at: list[float] = field(default_factory=list)
    """time.time() at which each event arrived"""
    retry_after: str | None = None


async def follow(
    session: aiohttp.ClientSession, api: Api, task_id: str, until_final: bool, opened: asyncio.Event | None = None
) -> StreamResult:
    """Opens /stream/{task_id}; reads the first event (and on to the final one when `until_final`)."""
    result = StreamResult()
    started = time.monotonic()
    async with session.get(api.url(f"/stream/{task_id}"), headers={"X-API-Key": API_KEY}) as response:
        result.status, result.retry_after = response.status, response.headers.get("Retry-After")
        if response.status != 200:
            return result
        async for line in response.content:
            if not line.startswith(b"data: "):
                continue
            event = json.loads(line[len(b"data: ") :])
            if not result.events:
                result.first_event_after = time.monotonic() - started
                if opened is not None:
                    opened.set()
            result.events.append(event)
            result.received_at.append(time.time())
            if not until_final or event["status"] in ("completed", "failed", "cancelled"):
                break
    return result


async def open_all(
    http: aiohttp.ClientSession, api: Api, task_ids: list[str], timeout: float
) -> list[asyncio.Task[StreamResult]]:
    """Opens a stream per task at once; returns once every one has had its first event. Each task then goes on
    to its stream's final event."""
    opened = [asyncio.Event() for _ in task_ids]
    streams = [
        asyncio.create_task(follow(http, api, task_id, until_final=True, opened=flag))
        for task_id, flag in zip(task_ids, opened, strict=True)
    ]
    await asyncio.wait_for(asyncio.gather(*(flag.wait() for flag in opened)), timeout)
    return streams


def api_connections(client: redis.Redis) -> int:
    """Redis connections the api holds (make_redis and the limiter name theirs llm-api*)."""
    return sum(1 for found in client.client_list() if str(found["name"]).startswith("llm-api"))


def finish(redis_url: str, task_ids: list[str], delta: str | None = None) -> None:
    """What a worker would write for each task: processing, the delta if any, completed."""
    store = TaskStore(make_redis(redis_url), ttl_seconds=3600)
    for task_id in task_ids:
        record = store.mark_processing(task_id)
        assert record is not None, f"task {task_id} is gone"
        if delta is not None:
            store.append_deltas({task_id: delta})
        store.complete(record, result=delta or "", metrics={}, finished_at=time.time())


def session(connections: int) -> aiohttp.ClientSession:
    """A client session allowed `connections` sockets at once, with no overall timeout (streams are long)."""
    connector = aiohttp.TCPConnector(limit=connections, force_close=True)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None, sock_connect=30))
