"""POST /v1/embeddings: each input is a task like any other (queue, tenant limits, usage, metrics), run by
the model's workers, which pool its hidden states (workers/engine/pooling.py) and batch the inputs that
wait together. The answer is read from the tasks' completed events; their records are then deleted, since
nobody else can ask for them (no task id is given out), so an answered embedding leaves nothing in Redis."""

from __future__ import annotations

import contextlib
from typing import Any

import redis
from flask import Blueprint, request
from pydantic import ValidationError

from contract import embeddings, refusals
from contract.error_kinds import ErrorKind
from contract.task_params import TaskParams

from ..http.auth import require_api_key
from ..http.bodies import json_object, respond, validated
from ..http.errors import ApiError, invalid
from ..http.model_access import resolve_model
from ..http.rate_limit import asks_for, counted_against_limit
from ..openai.protocol import unsupported
from ..openai.running import finals, gather_or_cancel, submit_all
from ..openai.serving import failure
from ..services import services
from ..tasks.events import check_room
from .protocol import EmbeddingRequest
from .shapes import Embedding, EmbeddingList, EmbeddingUsage

bp = Blueprint("embeddings", __name__, url_prefix="/v1")


@bp.post("/embeddings")
@require_api_key
@validated(lambda: _parse(json_object()))
@counted_against_limit
def create(parsed: EmbeddingRequest) -> Any:
    model, _ = resolve_model(parsed.model, unknown_status=404, embeddings=True)
    svc = services()
    params = [_params(text, parsed.dimensions) for text in parsed.input]
    check_room(svc.hub, len(params))
    task_ids = submit_all(svc, model, params, parsed.user)
    gathering = gather_or_cancel(svc, task_ids, request.environ.get("gunicorn.socket"))
    found = finals(svc.store, gathering, len(task_ids), _failure)
    # Every task has ended (its usage counted, its reservation settled): nothing is left to read. (On a
    # failure the others are cancelled and their records left to expire, so that they end as tasks do.)
    with contextlib.suppress(redis.RedisError):  # left to expire with the store's TTL
        for task_id in task_ids:
            svc.store.delete(task_id)
    data = [
        Embedding(index=index, embedding=_encoded(event, parsed.encoding_format)) for index, event in enumerate(found)
    ]
    prompt = sum(int(event["metrics"].get("prompt_tokens", 0)) for event in found)
    return respond(
        EmbeddingList(data=data, model=model, usage=EmbeddingUsage(prompt_tokens=prompt, total_tokens=prompt))
    )


def _parse(body: dict[str, Any]) -> EmbeddingRequest:
    unsupported(body, EmbeddingRequest)  # logs the fields nobody here knows
    try:
        parsed = EmbeddingRequest.model_validate(body)
    except ValidationError as error:
        raise invalid(error) from None
    asks_for(len(parsed.input), "input")
    return parsed


def _params(text: str | list[int], dimensions: int | None) -> TaskParams:
    given = {"prompt": text} if isinstance(text, str) else {"prompt_ids": tuple(text)}
    return TaskParams(max_tokens=0, temperature=0.0, top_p=1.0, embedding=True, dimensions=dimensions, **given)


def _encoded(event: dict[str, Any], encoding_format: str) -> list[float] | str:
    encoded: str = event["embedding"]
    return encoded if encoding_format == "base64" else embeddings.decode(encoded)


def _failure(event: dict[str, Any]) -> ApiError:
    """A task's failure in this route's terms: the task's prompt is the request's `input`."""
    error = failure(event)
    if error.details.get("field") not in ("prompt", "max_tokens"):
        return error
    why = event.get("error_message") or ""
    if event.get("error_type") == ErrorKind.REFUSED:
        why = refusals.parse(why)[1]
    return ApiError(400, f"Invalid input: {why}", field="input", code=error.details.get("code"))
