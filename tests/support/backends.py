"""A TransformersBackend loaded through the production path, for tests that drive the engines directly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from workers.backends.transformers import TransformersBackend
from workers.engine.types import EngineKind


def running_backend(model: Path, engine: EngineKind, max_batch_size: int) -> Iterator[TransformersBackend]:
    """Yields the loaded backend; stops its engine afterwards (a module fixture's body)."""
    loaded = TransformersBackend(str(model), "tiny", max_batch_size=max_batch_size, engine=engine)
    loaded.load()
    yield loaded
    assert loaded.engine is not None
    loaded.engine.stop()
