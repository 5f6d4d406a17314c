"""A batch line's answer, recorded once: the first final event about the line wins (a worker that finishes a
line the batch's cancellation or expiry already closed, or a line run twice after a lost worker, changes
nothing), and the batch's count of completed or failed lines moves with it, in the same step."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import redis

from .names import batch_key, batch_results_key

# KEYS: results hash, batch hash. ARGV: line number, final event (JSON), counter field ("completed"/"failed").
# A batch that is gone (deleted or expired) takes nothing; the results hash lives as long as its batch.
_RECORD = """
local ttl = redis.call('pttl', KEYS[2])
if ttl == -2 then return 0 end
if redis.call('hsetnx', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('hincrby', KEYS[2], ARGV[3], 1)
if ttl > 0 then redis.call('pexpire', KEYS[1], ttl) end
return 1
"""


@dataclass(frozen=True)
class BatchLine:
    batch_id: str
    line: int

    def __str__(self) -> str:
        return f"{self.batch_id}:{self.line}"

    @classmethod
    def parse(cls, text: str) -> BatchLine:
        batch_id, line = text.rsplit(":", 1)
        return cls(batch_id, int(line))


def record(pipe: redis.client.Pipeline, line: BatchLine, event: dict[str, Any]) -> None:
    """Queues the recording of a line's final event in a pipeline (the task record's final write)."""
    keys = [batch_results_key(line.batch_id), batch_key(line.batch_id)]
    pipe.eval(_RECORD, len(keys), *keys, str(line.line), json.dumps(event), event["status"])


def read(client: redis.Redis, batch_id: str) -> dict[int, dict[str, Any]]:
    """Every recorded line's final event, by line number."""
    found: dict[str, str] = client.hgetall(batch_results_key(batch_id))  # type: ignore[assignment]
    return {int(line): json.loads(event) for line, event in found.items()}
