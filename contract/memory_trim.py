"""Hands the allocator's free memory back to the system at a steady interval (glibc's malloc_trim), in
each api worker and each generation worker process (MALLOC_TRIM_SECONDS).

Why: under steady load an api worker's resident memory grew about 20 bytes a request while neither the
Python heap (tracemalloc) nor the memory malloc hands out grew at all; one malloc_trim(0) gave the growth
back (bench/api_heap.py, docs/reliability.md). The growth is freed memory that glibc keeps resident, not a
leak; trimming it keeps the pod under its memory limit for ever instead of for days. Elsewhere than glibc
(musl, macOS) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading
from typing import Any

logger = logging.getLogger(__name__)


def start(interval: float) -> bool:
    """Trims every `interval` seconds in a background thread (a greenlet under gevent); False when off or
    when the C library has no malloc_trim."""
    libc = _glibc()
    if interval <= 0 or libc is None:
        return False
    threading.Thread(target=_run, args=(libc, interval), name="malloc-trim", daemon=True).start()
    return True


def _glibc() -> Any:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


def _run(libc: Any, interval: float) -> None:
    stop = threading.Event()  # never set: the thread lives as long as the process
    while not stop.wait(interval):
        libc.malloc_trim(0)
