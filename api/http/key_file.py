"""API keys from a file (API_KEYS_FILE: one per line or comma-separated), re-read when it changes, so
keys rotate without a restart: a mounted Kubernetes Secret is rewritten in place when the Secret changes."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

logger = logging.getLogger(__name__)


class KeyFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.seen: tuple[float, int] | None = None
        self.keys: list[str] = []

    def current(self) -> list[str]:
        """One stat per call; the file is read only when its modification time or size changed."""
        try:
            stat = os.stat(self.path)
        except OSError:
            return []  # a file being replaced, or gone: only API_KEYS count meanwhile
        signature = (stat.st_mtime, stat.st_size)
        with self.lock:
            if signature != self.seen:
                lines = self.path.read_text(encoding="utf-8").splitlines()
                wanted = [line for line in lines if not line.lstrip().startswith("#")]
                # One per line, or comma-separated as in API_KEYS (a Kubernetes Secret holds them that way)
                self.keys = [key.strip() for line in wanted for key in line.split(",") if key.strip()]
                self.seen = signature
                logger.info("API_KEYS_FILE read: %d keys", len(self.keys))
            return self.keys
