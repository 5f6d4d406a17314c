"""Files, as OpenAI's Files API shows them: one Redis hash each (metadata and content), kept BATCH_FILE_TTL.

Redis rather than a volume: every api replica already shares it, it is persisted and replicated as the
queue is, and a chart needs no ReadWriteMany volume. The price is memory, hence BATCH_MAX_FILE_BYTES."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import redis

from contract.names import file_key, files_of_key

from .shapes import FileObject

BATCH_PURPOSE, OUTPUT_PURPOSE = "batch", "batch_output"

# KEYS: the key's files (sorted set by expiry). ARGV: now, bytes wanted, the most bytes (-1: only count),
# the file key prefix. Expired or deleted files stop counting; an upload's bytes are held (as a member
# `upload:<now>:<bytes>`, gone in a minute) until the file itself is written. Returns the bytes held when
# counting, else 1 when there is room (and holds it), 0 when not.
_ROOM = """
redis.call('zremrangebyscore', KEYS[1], '-inf', tonumber(ARGV[1]) - 1)
local held = 0
for _, id in ipairs(redis.call('zrange', KEYS[1], 0, -1)) do
  local upload = string.match(id, '^upload:%d+:(%d+)$')
  if upload then
    held = held + tonumber(upload)
  else
    local size = redis.call('hget', ARGV[4] .. id, 'bytes')
    if size then held = held + tonumber(size) else redis.call('zrem', KEYS[1], id) end
  end
end
if tonumber(ARGV[3]) < 0 then return held end
if held + tonumber(ARGV[2]) > tonumber(ARGV[3]) then return 0 end
redis.call('zadd', KEYS[1], tonumber(ARGV[1]) + 60, 'upload:' .. ARGV[1] .. ':' .. ARGV[2])
return 1
"""


def _size(content: str | memoryview) -> int:
    return content.nbytes if isinstance(content, memoryview) else len(content.encode())


@dataclass(frozen=True)
class StoredFile:
    file_id: str
    owner: str
    filename: str
    purpose: str
    size: int
    created_at: int
    expires_at: int

    def as_openai(self) -> FileObject:
        return FileObject(
            id=self.file_id,
            bytes=self.size,
            created_at=self.created_at,
            expires_at=self.expires_at,
            filename=self.filename,
            purpose=self.purpose,  # type: ignore[arg-type]
        )


class FileStore:
    def __init__(self, client: redis.Redis, ttl_seconds: int) -> None:
        self.client = client
        self.ttl = ttl_seconds

    def add(self, pipe: Any, *, owner: str, filename: str, purpose: str, content: str | memoryview) -> StoredFile:
        """Queues the file's writes on `pipe` (so that it appears together with whatever made it), whatever
        the key already holds: a batch's results are always written (they count against its next upload)."""
        now = int(time.time())
        stored = StoredFile(
            f"file-{secrets.token_hex(12)}", owner, filename, purpose, _size(content), now, now + self.ttl
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
        # Scored by the exact time it expires, so that files made in the same second list in order
        pipe.zadd(files_of_key(owner), {stored.file_id: time.time() + self.ttl})
        pipe.expire(files_of_key(owner), self.ttl)
        return stored

    def create(
        self, *, owner: str, filename: str, purpose: str, content: memoryview, most_bytes: int
    ) -> StoredFile | None:
        """The file, or None when the key's files would then hold more than `most_bytes` (checked and
        counted at once, so concurrent uploads cannot pass the bound together)."""
        size, now = content.nbytes, int(time.time())
        room = self.client.eval(_ROOM, 1, files_of_key(owner), now, size, most_bytes, file_key(""))
        if not room:
            return None
        with self.client.pipeline(transaction=True) as pipe:
            stored = self.add(pipe, owner=owner, filename=filename, purpose=purpose, content=content)
            pipe.zrem(files_of_key(owner), f"upload:{now}:{size}")  # the room held, now the file itself
            pipe.execute()
        return stored

    def get(self, owner: str, file_id: str) -> StoredFile | None:
        """The file, when it exists and belongs to this key (another key's file is as good as absent)."""
        found = self._read(owner, [file_id])
        return found[0] if found else None

    def _read(self, owner: str, file_ids: list[str]) -> list[StoredFile]:
        """Those of the files that exist and belong to this key, in one round trip."""
        with self.client.pipeline(transaction=False) as pipe:
            for file_id in file_ids:
                pipe.hmget(file_key(file_id), ["owner", "filename", "purpose", "bytes", "created_at"])
                pipe.ttl(file_key(file_id))
            replies = pipe.execute()
        now, found = int(time.time()), []
        for file_id, fields, ttl in zip(file_ids, replies[::2], replies[1::2], strict=True):
            if fields[0] == owner:
                _, filename, purpose, size, created = (str(value) for value in fields)
                found.append(StoredFile(file_id, owner, filename, purpose, int(size), int(created), now + max(0, ttl)))
        return found

    def listed(
        self, owner: str, *, purpose: str | None, newest_first: bool, after: str | None, limit: int
    ) -> tuple[list[StoredFile], bool]:
        """A page of the key's files (those after `after`, in that order), and whether more follow. Every file
        is kept the same time, so the order of their expiry, which the key's index holds, is their creation's."""
        members: list[str] = self.client.zrange(files_of_key(owner), 0, -1)  # type: ignore[assignment]
        ids = [member for member in members if not member.startswith("upload:")]  # an upload's room held
        if newest_first:
            ids.reverse()
        if after is not None:
            ids = ids[ids.index(after) + 1 :] if after in ids else []
        wanted = [stored for stored in self._read(owner, ids) if purpose is None or stored.purpose == purpose]
        return wanted[:limit], len(wanted) > limit

    def content(self, owner: str, file_id: str) -> str | None:
        if self.get(owner, file_id) is None:
            return None
        found: str | None = self.client.hget(file_key(file_id), "content")  # type: ignore[assignment]
        return found

    def delete(self, owner: str, file_id: str) -> bool:
        if self.get(owner, file_id) is None:
            return False
        with self.client.pipeline(transaction=True) as pipe:
            pipe.delete(file_key(file_id))
            pipe.zrem(files_of_key(owner), file_id)
            return bool(pipe.execute()[0])
