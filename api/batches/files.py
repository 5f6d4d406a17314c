"""Files, as OpenAI's Files API shows them: one Redis hash each (metadata and content), kept BATCH_FILE_TTL.

Redis rather than a volume: every api replica already shares it, it is persisted and replicated as the
queue is, and a chart needs no ReadWriteMany volume. The price is memory, hence BATCH_MAX_FILE_BYTES."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import redis

from contract.names import file_key

BATCH_PURPOSE, OUTPUT_PURPOSE = "batch", "batch_output"


@dataclass(frozen=True)
class StoredFile:
    file_id: str
    owner: str
    filename: str
    purpose: str
    size: int
    created_at: int
    expires_at: int

    def as_openai(self) -> dict[str, Any]:
        return {
            "id": self.file_id,
            "object": "file",
            "bytes": self.size,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "status_details": None,
        }


class FileStore:
    def __init__(self, client: redis.Redis, ttl_seconds: int) -> None:
        self.client = client
        self.ttl = ttl_seconds

    def add(self, pipe: Any, *, owner: str, filename: str, purpose: str, content: str) -> StoredFile:
        """Queues the file's writes on `pipe` (so that it appears together with whatever made it)."""
        now = int(time.time())
        stored = StoredFile(
            f"file-{secrets.token_hex(12)}", owner, filename, purpose, len(content.encode()), now, now + self.ttl
        )
        fields = {
            "owner": owner,
            "filename": filename,
            "purpose": purpose,
            "bytes": str(stored.size),
            "created_at": str(now),
            "content": content,
        }
        pipe.hset(file_key(stored.file_id), mapping=fields)
        pipe.expire(file_key(stored.file_id), self.ttl)
        return stored

    def create(self, *, owner: str, filename: str, purpose: str, content: str) -> StoredFile:
        with self.client.pipeline(transaction=True) as pipe:
            stored = self.add(pipe, owner=owner, filename=filename, purpose=purpose, content=content)
            pipe.execute()
        return stored

    def get(self, owner: str, file_id: str) -> StoredFile | None:
        """The file, when it exists and belongs to this key (another key's file is as good as absent)."""
        found = self.client.hmget(file_key(file_id), ["owner", "filename", "purpose", "bytes", "created_at"])
        if found[0] != owner:  # type: ignore[index]
            return None
        _, filename, purpose, size, created = (str(value) for value in found)  # type: ignore[union-attr]
        expires_at = int(time.time()) + max(0, int(self.client.ttl(file_key(file_id))))  # type: ignore[arg-type]
        return StoredFile(file_id, owner, filename, purpose, int(size), int(created), expires_at)

    def content(self, owner: str, file_id: str) -> str | None:
        if self.get(owner, file_id) is None:
            return None
        found: str | None = self.client.hget(file_key(file_id), "content")  # type: ignore[assignment]
        return found

    def delete(self, owner: str, file_id: str) -> bool:
        if self.get(owner, file_id) is None:
            return False
        return bool(self.client.delete(file_key(file_id)))
