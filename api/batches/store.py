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

from .shapes import BatchErrors, BatchObject, RequestCounts

TIMESTAMPS = {
    BatchStatus.IN_PROGRESS: "in_progress_at",
    BatchStatus.FINALIZING: "finalizing_at",
    BatchStatus.COMPLETED: "completed_at",
    BatchStatus.FAILED: "failed_at",
    BatchStatus.EXPIRED: "expired_at",
    BatchStatus.CANCELLING: "cancelling_at",
    BatchStatus.CANCELLED: "cancelled_at",
}

# Which statuses a batch may move to from which: every move is checked against its current status in Redis,
# so a cancel racing the end of a batch, or two api processes finalizing it, cannot undo one another.
MOVES_TO = {
    BatchStatus.IN_PROGRESS: {BatchStatus.VALIDATING},
    BatchStatus.FAILED: {BatchStatus.VALIDATING},
    BatchStatus.CANCELLING: {BatchStatus.IN_PROGRESS},
    BatchStatus.FINALIZING: {BatchStatus.IN_PROGRESS, BatchStatus.CANCELLING, BatchStatus.FINALIZING},
    BatchStatus.COMPLETED: {BatchStatus.FINALIZING},
    BatchStatus.EXPIRED: {BatchStatus.FINALIZING},
    BatchStatus.CANCELLED: {BatchStatus.FINALIZING},
}

# KEYS: batch hash. ARGV: how many allowed statuses, the allowed statuses, then field/value pairs.
_MOVE = """
local current = redis.call('hget', KEYS[1], 'status')
local count = tonumber(ARGV[1])
for i = 2, count + 1 do
  if ARGV[i] == current then
    redis.call('hset', KEYS[1], unpack(ARGV, count + 2))
    return 1
  end
end
return 0
"""

# KEYS: the key's open batches (sorted set by reservation time). ARGV: new batch id, the most open, the
# batch key prefix, now, seconds a reservation may stay without its batch. An entry whose batch is gone
# (evicted, deleted by hand, or its creation died) stops counting once that time has passed.
_RESERVE = """
local stale = redis.call('zrangebyscore', KEYS[1], '-inf', tonumber(ARGV[4]) - tonumber(ARGV[5]))
for _, id in ipairs(stale) do
  if redis.call('exists', ARGV[3] .. id) == 0 then redis.call('zrem', KEYS[1], id) end
end
if redis.call('zcard', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('zadd', KEYS[1], ARGV[4], ARGV[1])
return 1
"""
RESERVATION_SECONDS = 600  # past any creation's time: the supervisor fails a batch validating that long


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

    def as_openai(self) -> BatchObject:
        f = self.fields

        def stamp(name: str) -> int | None:
            return int(f[name]) if f.get(name) else None

        return BatchObject(
            id=self.batch_id,
            endpoint=f["endpoint"],
            errors=BatchErrors.model_validate_json(f["errors"]) if f.get("errors") else None,
            input_file_id=f["input_file_id"],
            completion_window=f["completion_window"],  # type: ignore[arg-type]
            status=self.status,
            output_file_id=f.get("output_file_id") or None,
            error_file_id=f.get("error_file_id") or None,
            created_at=int(f["created_at"]),
            expires_at=self.expires_at,
            **{name: stamp(name) for name in TIMESTAMPS.values()},
            request_counts=RequestCounts(
                total=self.count("total"), completed=self.count("completed"), failed=self.count("failed")
            ),
            metadata=json.loads(f.get("metadata") or "null"),
        )


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

    def reserve(self, owner: str, most: int) -> str | None:
        """A new batch id, counted among the key's open batches at once (so that concurrent creations cannot
        pass the bound together), or None when the key has `most` open. `release` gives it back."""
        batch_id = f"batch_{secrets.token_hex(12)}"
        now, prefix = time.time(), batch_key("")
        found = self.client.eval(
            _RESERVE, 1, open_batches_of_key(owner), batch_id, most, prefix, now, RESERVATION_SECONDS
        )
        return batch_id if found else None

    def release(self, owner: str, batch_id: str) -> None:
        self.client.zrem(open_batches_of_key(owner), batch_id)

    def create(self, batch_id: str, new: NewBatch) -> Batch:
        """Written as `validating`, with its lines; moved on once its tasks are queued."""
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

    def move(self, batch: Batch, status: BatchStatus, **fields: str) -> Batch | None:
        """The batch in a new status (stamped with its time), plus any fields given, or None when its status
        was not one that may move there (another process moved it first); final statuses leave the open
        indexes."""
        changes: dict[Any, str] = {"status": status.value, TIMESTAMPS[status]: str(int(time.time())), **fields}
        allowed = [found.value for found in MOVES_TO[status]]
        pairs = [item for pair in changes.items() for item in pair]
        if not self.client.eval(_MOVE, 1, batch_key(batch.batch_id), len(allowed), *allowed, *pairs):
            return None
        if status in FINAL_BATCH_STATUSES:
            with self.client.pipeline(transaction=True) as pipe:
                pipe.zrem(OPEN_BATCHES_KEY, batch.batch_id)
                pipe.zrem(open_batches_of_key(batch.owner), batch.batch_id)
                pipe.expire(batch_results_key(batch.batch_id), self.keep)
                pipe.execute()
        return Batch(batch.batch_id, {**batch.fields, **changes})

    def forget(self, batch_id: str) -> None:
        self.client.zrem(OPEN_BATCHES_KEY, batch_id)

    def open_ids(self) -> list[tuple[str, float]]:
        found: list[tuple[str, float]] = self.client.zrange(OPEN_BATCHES_KEY, 0, -1, withscores=True)  # type: ignore[assignment]
        return found
