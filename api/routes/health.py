"""GET /health: Redis reachable? Which models do live workers serve?"""

from __future__ import annotations

from typing import Any

import redis
from flask import Blueprint, jsonify

from workers.core import heartbeats

from ..services import services
from ..version import VERSION

bp = Blueprint("health", __name__)


@bp.get("/health")
def health() -> Any:
    svc = services()
    body: dict[str, Any] = {
        "status": "healthy",
        "redis_connected": True,
        "model_loaded": False,
        "version": VERSION,
        "backend": svc.settings.model_backend,
        "model": svc.settings.model_id,
        "available_models": [],
    }
    try:
        svc.redis.ping()
        models = heartbeats.loaded_models(heartbeats.live(svc.redis))
    except redis.RedisError:
        body.update(status="unhealthy", redis_connected=False)
        return jsonify(body), 503
    # No worker for the default model is not a failure of the api (requests wait in Redis), but say so.
    body.update(
        model_loaded=svc.settings.model_id in models,
        available_models=models,
        status="healthy" if svc.settings.model_id in models else "degraded",
    )
    return jsonify(body), 200
