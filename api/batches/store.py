"""Batches: one Redis hash each (OpenAI's batch object, flat), the list of its lines, and the indexes that
list a key's batches and the open ones. Line results are written by the workers (contract/batch_results.py),
which also move the hash's `completed` and `failed` counts."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import redis

from contract.names import (
    OPEN_BATCHES_KEY,
    batch_key,
    batch_lines_key,
    batch_results_key,
    batches_of_key,
    open_batches_of_key,
)
from contract.statuses import FINAL_BATCH_STATUSES, BatchStatus

TIMESTAMPS = {
    BatchStatus.IN_PROGRESS: "in_progress_at",
    BatchStatus.FINALIZING: "finalizing_at",
    BatchStatus.COMPLETED: "completed_at",
    BatchStatus.FAILED: "failed_at",
    BatchStatus.EXPIRED: "expired_at",
    BatchStatus.CANCELLING: "cancelling_at",
    BatchStatus.CANCELLED: "cancelled_at",
}


@dataclass(frozen=True)
class Batch:
    batch_id: str
    fields: dict[str, str]

    @property
    def status(self) -> BatchStatus:
        return BatchStatus(self.fields["status"])

    @property
    def owner(self) -> str:
        return self.fields["owner"]

    def count(self, name: str) -> int:
        return int(self.fields.get(name) or 0)

    @property
    def unfinished(self) -> int:
        return self.count("total") - self.count("completed") - self.count("failed")

    @property
    def expires_at(self) -> int:
        return int(self.fields["expires_at"])

    def as_openai(self) -> dict[str, Any]:
        f = self.fields

        def stamp(name: str) -> int | None:
            return int(f[name]) if f.get(name) else None

        return {
            "id": self.batch_id,
            "object": "batch",
            "endpoint": f["endpoint"],
            "errors": json.loads(f["errors"]) if f.get("errors") else None,
            "input_file_id": f["input_file_id"],
            "completion_window": f["completion_window"],
            "status": f["status"],
            "output_file_id": f.get("output_file_id") or None,
            "error_file_id": f.get("error_file_id") or None,
            "created_at": int(f["created_at"]),
            "expires_at": self.expires_at,
            **{name: stamp(name) for name in TIMESTAMPS.values()},
            "request_counts": {
                "total": self.count("total"),
                "completed": self.count("completed"),
                "failed": self.count("failed"),
            },
            "metadata": json.loads(f.get("metadata") or "null"),
        }


@dataclass(frozen=True)
class NewBatch:
    owner: str
    endpoint: str
    input_file_id: str
    completion_window: str
    metadata: dict[str, str] | None
    callback_url: str | None = None
    """metadata's callback_url: told when the batch ends"""
    lines: list[dict[str, Any]] = field(default_factory=list)
    """how to answer each line: custom_id, task id, model, shape, params (output.py)"""


class BatchStore:
    def __init__(self, client: redis.Redis, expiry_seconds: int, keep_seconds: int) -> None:
        self.client = client
        self.expiry = expiry_seconds
        self.keep = expiry_seconds + keep_seconds  # open, then its results kept as long as files are

    def open_count(self, owner: str) -> int:
        return int(self.client.scard(open_batches_of_key(owner)))  # type: ignore[arg-type]

    def create(self, new: NewBatch) -> Batch:
        """Written as `validating`, with its lines; `start` moves it on once its tasks are queued."""
        batch_id = f"batch_{secrets.token_hex(12)}"
        now = int(time.time())
        fields: dict[Any, str] = {
            "owner": new.owner,
            "status": BatchStatus.VALIDATING.value,
            "endpoint": new.endpoint,
            "input_file_id": new.input_file_id,
            "completion_window": new.completion_window,
            "created_at": str(now),
            "expires_at": str(now + self.expiry),
            "total": str(len(new.lines)),
            "completed": "0",
            "failed": "0",
            "metadata": json.dumps(new.metadata),
            "callback_url": new.callback_url or "",
        }
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(batch_key(batch_id), mapping=fields)
            if new.lines:  # (an upload holds one request at least; RPUSH takes no empty list)
                pipe.rpush(batch_lines_key(batch_id), *(json.dumps(line) for line in new.lines))
            for key in (batch_key(batch_id), batch_lines_key(batch_id)):
                pipe.expire(key, self.keep)
            pipe.zadd(batches_of_key(new.owner), {batch_id: now})
            pipe.sadd(open_batches_of_key(new.owner), batch_id)
            pipe.zadd(OPEN_BATCHES_KEY, {batch_id: now + self.expiry})
            pipe.execute()
        return Batch(batch_id, fields)

    def get(self, batch_id: str) -> Batch | None:
        fields: dict[str, str] = self.client.hgetall(batch_key(batch_id))  # type: ignore[assignment]
        return Batch(batch_id, fields) if fields else None

    def owned(self, owner: str, batch_id: str) -> Batch | None:
        found = self.get(batch_id)
        return found if found is not None and found.owner == owner else None

    def listed(self, owner: str, after: str | None, limit: int) -> tuple[list[Batch], bool]:
        """The key's batches, newest first, after the one named (OpenAI's cursor); whether more follow."""
        ids: list[str] = self.client.zrevrange(batches_of_key(owner), 0, -1)  # type: ignore[assignment]
        if after is not None:
            ids = ids[ids.index(after) + 1 :] if after in ids else []
        found = []
        for batch_id in ids:
            batch = self.get(batch_id)
            if batch is None:  # expired: drop it from the index
                self.client.zrem(batches_of_key(owner), batch_id)
                continue
            found.append(batch)
            if len(found) > limit:
                break
        return found[:limit], len(found) > limit

    def lines(self, batch_id: str) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.client.lrange(batch_lines_key(batch_id), 0, -1)]  # type: ignore[union-attr]

    def move(self, batch: Batch, status: BatchStatus, **fields: str) -> Batch:
        """The batch in a new status (stamped with its time), plus any fields given; final statuses leave
        the open indexes."""
        changes: dict[Any, str] = {"status": status.value, TIMESTAMPS[status]: str(int(time.time())), **fields}
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(batch_key(batch.batch_id), mapping=changes)
            if status in FINAL_BATCH_STATUSES:
                pipe.zrem(OPEN_BATCHES_KEY, batch.batch_id)
                pipe.srem(open_batches_of_key(batch.owner), batch.batch_id)
                pipe.expire(batch_results_key(batch.batch_id), self.keep)
            pipe.execute()
        return Batch(batch.batch_id, {**batch.fields, **changes})

    def forget(self, batch_id: str) -> None:
        self.client.zrem(OPEN_BATCHES_KEY, batch_id)

    def open_ids(self) -> list[tuple[str, float]]:
        found: list[tuple[str, float]] = self.client.zrange(OPEN_BATCHES_KEY, 0, -1, withscores=True)  # type: ignore[assignment]
        return found
