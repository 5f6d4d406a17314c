"""GET /webhook-secret: the calling key's own webhook signing secret (signing.py), to verify what it receives."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g
from pydantic import BaseModel, Field

from ..http.auth import require_api_key
from ..http.bodies import respond
from ..http.errors import ApiError
from ..services import services
from . import signing

bp = Blueprint("webhooks", __name__)


class WebhookSecret(BaseModel):
    secret: str = Field(description="whsec_<base64>: what the openai client's and Standard Webhooks' checks take")
    previous: str | None = Field(
        None, description="while WEBHOOK_SECRET is being rotated, the one that signs alongside it"
    )


@bp.get("/webhook-secret")
@require_api_key
def webhook_secret() -> Any:
    settings = services().settings
    if not settings.webhook_secret:
        raise ApiError(404, "Webhooks are off on this service (WEBHOOK_SECRET is not set)")
    previous = settings.webhook_previous_secret
    found = WebhookSecret(
        secret=signing.key_secret(settings.webhook_secret, g.key_id),
        previous=signing.key_secret(previous, g.key_id) if previous else None,
    )
    return respond(found, nulls=True)
