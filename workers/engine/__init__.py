"""The batching engines: one model per worker process, many requests generating together.

Two engines take the same EngineRequest and answer on the same queue: BatchEngine (this project's own,
the faster one on CPU) and PagedEngine (transformers' continuous-batching manager with a paged KV cache,
the faster one on GPU). ENGINE=auto picks by device; docs/benchmarks.md has the measurements.
"""

from __future__ import annotations

from typing import Any

import torch

from ..core.settings import EngineKind
from .batch_engine import BatchEngine, EngineRequest, TokenEvent

__all__ = ["BatchEngine", "EngineKind", "EngineRequest", "TokenEvent", "create_engine"]


def create_engine(
    kind: EngineKind, model: Any, eos_ids: set[int], max_batch_size: int, kv_cache_memory_fraction: float
) -> Any:
    if kind == "paged" or (kind == "auto" and torch.cuda.is_available()):
        from .paged_engine import PagedEngine

        return PagedEngine(model, eos_ids, max_batch_size, kv_cache_memory_fraction)
    return BatchEngine(model, eos_ids, max_batch_size)
