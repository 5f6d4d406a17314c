"""Which engine runs: ENGINE, or with `auto` the paged one on a GPU and our own batch engine on CPU."""

from __future__ import annotations

from typing import Any

import torch

from .types import DEFAULT_PREFIX_CACHE_BYTES, Engine, EngineKind


def create_engine(
    kind: EngineKind,
    model: Any,
    eos_ids: set[int],
    max_batch_size: int,
    kv_cache_memory_fraction: float,
    prefix_cache_bytes: int = DEFAULT_PREFIX_CACHE_BYTES,
) -> Engine:
    if kind == "paged" or (kind == "auto" and torch.cuda.is_available()):
        from .paged_engine import PagedEngine

        return PagedEngine(model, eos_ids, max_batch_size, kv_cache_memory_fraction, prefix_cache_bytes > 0)
    from .batch_engine import BatchEngine

    return BatchEngine(model, eos_ids, max_batch_size, prefix_cache_bytes)
