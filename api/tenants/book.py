"""The tenants the operator declared (contract/tenants.py), as this process last read them.

Read again at most every REFRESH_SECONDS, on the request that finds them stale: one Redis read per process
every few seconds rather than one per request, and a tenant changed in the cluster applies within that time,
without a restart. While Redis cannot be read, the last tenants read stay in force.
"""

from __future__ import annotations

import logging
import threading
import time

import redis

from contract import tenants
from contract.tenants import Tenant

logger = logging.getLogger(__name__)
REFRESH_SECONDS = 2.0


class TenantBook:
    def __init__(self, client: redis.Redis, refresh_seconds: float = REFRESH_SECONDS) -> None:
        self.client = client
        self.refresh_seconds = refresh_seconds
        self.tenants: dict[str, Tenant] = {}
        self.read_at = float("-inf")
        self.lock = threading.Lock()

    def current(self) -> dict[str, Tenant]:
        now = time.monotonic()
        if now - self.read_at >= self.refresh_seconds and self.lock.acquire(blocking=False):
            try:
                self.tenants = tenants.read(self.client)
            except redis.RedisError:
                logger.warning("tenants not refreshed: Redis unavailable; the last ones read stay in force")
            finally:
                self.read_at = now
                self.lock.release()
        return self.tenants

    def tenant_of(self, key_digest: str, key_id: str) -> Tenant:
        return tenants.tenant_of(key_digest, key_id, self.current())

    def lists(self, key_digest: str) -> bool:
        """Whether a declared tenant lists the key (which makes it a valid key)."""
        return self.tenant_of(key_digest, "").resource != ""
