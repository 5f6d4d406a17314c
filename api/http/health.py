"""GET /health: Redis reachable? Which models do live workers serve?"""

from __future__ import annotations

from typing import Any, Literal

import redis
from flask import Blueprint
from pydantic import BaseModel, Field

from contract import heartbeats

from ..services import services
from ..version import VERSION
from .bodies import respond


class LiveResponse(BaseModel):
    status: Literal["alive"] = "alive"


class HealthResponse(BaseModel):
    status: Literal["healthy", "degraded", "unhealthy"]
    redis_connected: bool
    model_loaded: bool = Field(description="a live worker serves the default model")
    version: str
    backend: str
    model: str = Field(description="the default model")
    available_models: list[str] = Field(description="models that live workers serve")


bp = Blueprint("health", __name__)


@bp.get("/health")
def health() -> Any:
    svc = services()
    common = {"version": VERSION, "backend": svc.settings.model_backend, "model": svc.settings.model_id}
    try:
        svc.redis.ping()
        models = heartbeats.loaded_models(heartbeats.live(svc.redis))
    except redis.RedisError:
        down = HealthResponse(
            status="unhealthy", redis_connected=False, model_loaded=False, available_models=[], **common
        )
        return respond(down), 503
    # No worker for the default model is not a failure of the api (requests wait in Redis), but say so.
    loaded = svc.settings.model_id in models
    status = "healthy" if loaded else "degraded"
    return respond(
        HealthResponse(status=status, redis_connected=True, model_loaded=loaded, available_models=models, **common)
    )


@bp.get("/livez")
def live() -> Any:
    """Liveness: the process answers. Nothing else is checked, so a busy api, or one whose Redis is away
    (readiness, /health, says so), is never restarted for it."""
    return respond(LiveResponse())
