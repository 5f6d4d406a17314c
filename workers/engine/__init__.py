"""The batching engine: one model per worker process, many requests generating together."""

from .batch_engine import BatchEngine, EngineRequest, TokenEvent

__all__ = ["BatchEngine", "EngineRequest", "TokenEvent"]
