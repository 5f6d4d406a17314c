"""Which model a request runs on, and whether its key may use it."""

from __future__ import annotations

from flask import g

from contract import heartbeats, model_registry

from ..services import services
from .errors import ApiError


def resolve_model(
    requested: str | None, unknown_status: int = 400, embeddings: bool = False
) -> tuple[str, model_registry.RegisteredModel | None]:
    """The default model, one that a live worker serves, or one the operator runs (even at zero replicas:
    the request waits in its queue and the operator starts a worker); 403 if the key may not use it, 400 if
    it is an embedding model and the request is not for `embeddings`."""
    svc = services()
    default = svc.settings.model_id
    registered = model_registry.read(svc.redis)
    model = requested or default
    if model != default and model not in registered:
        available = heartbeats.loaded_models(heartbeats.live(svc.redis))
        if model not in available:
            choices = sorted({default, *available, *registered})
            raise ApiError(
                unknown_status,
                f"Invalid model: unknown model {model!r}; available: {choices}",
                field="model",
                code="model_not_found",
            )
    found = registered.get(model)
    if not model_registry.may_use(g.key_digest, found):
        raise ApiError(403, f"This API key may not use model {model!r}", field="model")
    if found is not None and found.task == "embed" and not embeddings:
        raise ApiError(
            400, f"Invalid model: {model!r} is an embedding model; it answers /v1/embeddings only", field="model"
        )
    return model, found
