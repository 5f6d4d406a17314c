"""Model backends: each turns a GenerationRequest into a GenerationResult. Pick one with create_backend."""

from __future__ import annotations

from ..settings import WorkerSettings
from .base import Backend, GenerationRequest, GenerationResult

__all__ = ["Backend", "GenerationRequest", "GenerationResult", "create_backend"]


def create_backend(settings: WorkerSettings) -> Backend:
    # Imported here so that choosing a backend pulls in only its own heavy dependencies.
    if settings.model_backend == "transformers":
        from .transformers import TransformersBackend

        return TransformersBackend(
            settings.model_name,
            settings.model_id,
            settings.engine_capacity,
            settings.engine,
            settings.kv_cache_memory_fraction,
            settings.model_task,
            settings.prefix_cache_bytes,
        )
    if settings.model_backend == "ollama":
        if settings.model_task != "generate":
            raise ValueError("MODEL_TASK=embed needs MODEL_BACKEND=transformers (Ollama's models embed as they are)")
        from .ollama_backend import OllamaBackend

        return OllamaBackend(settings.ollama_host, settings.model_id)
    raise ValueError(f"MODEL_BACKEND {settings.model_backend!r} is not supported")
