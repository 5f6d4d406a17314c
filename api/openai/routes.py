"""OpenAI-compatible routes: GET /v1/models, POST /v1/completions, POST /v1/chat/completions.

Each choice of a request (prompts × n) is a task like any other (same queue, workers, engine, limits,
metrics and logs); the route follows its tasks' events together and answers in OpenAI's shapes, streamed
as chunks when asked. A client that disconnects cancels its tasks."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from flask import Blueprint, request
from pydantic import BaseModel

from contract import heartbeats, model_registry

from ..http.auth import require_api_key
from ..http.bodies import json_object, respond, validated
from ..http.errors import ApiError
from ..http.model_access import resolve_model
from ..http.rate_limit import asks_for, counted_against_limit
from ..services import services
from ..tasks.events import check_room, event_stream
from .planning import choices_of, parse, shape_of
from .protocol import ChatCompletionRequest, CompletionRequest
from .running import events_of, finals, gather_or_cancel, submit_all
from .serving import ChoiceStream, Chunk, Reply, error_chunk, failure
from .shapes import Model, ModelList, Usage

bp = Blueprint("openai", __name__, url_prefix="/v1")


@bp.get("/models")
@require_api_key
def models() -> Any:
    return respond(ModelList(data=[Model(id=name) for name in _model_names()]), nulls=True)


@bp.get("/models/<path:model>")
@require_api_key
def model(model: str) -> Any:
    """One model, as OpenAI's `models.retrieve` asks; ids with slashes (org/name) included, as vLLM serves them."""
    if model not in _model_names():
        raise ApiError(404, f"The model {model!r} does not exist", field="model", code="model_not_found")
    return respond(Model(id=model), nulls=True)


def _model_names() -> list[str]:
    """The default model, those live workers serve, and those the operator runs."""
    svc = services()
    live = heartbeats.loaded_models(heartbeats.live(svc.redis))
    return sorted({svc.settings.model_id, *live, *model_registry.read(svc.redis)})


@bp.post("/completions")
@require_api_key
@validated(lambda: _parse(CompletionRequest))
@counted_against_limit
def completions(parsed: CompletionRequest) -> Any:
    return _complete(parsed)


@bp.post("/chat/completions")
@require_api_key
@validated(lambda: _parse(ChatCompletionRequest))
@counted_against_limit
def chat_completions(parsed: ChatCompletionRequest) -> Any:
    return _complete(parsed)


def _parse(schema: type[BaseModel]) -> Any:
    parsed = parse(schema, json_object(), services().settings.max_tokens_limit)
    prompts = 1 if isinstance(parsed, ChatCompletionRequest) else len(parsed.prompts())
    asks_for(prompts * parsed.n, "n")
    return parsed


def _complete(parsed: Any) -> Any:
    model, registered = resolve_model(parsed.model, unknown_status=404)
    svc = services()
    shape = shape_of(parsed)
    choices = choices_of(parsed, shape, svc.settings, registered)
    check_room(svc.hub, len(choices))  # this request will follow its tasks: refuse it before they exist
    task_ids = submit_all(svc, model, [choice.params for choice in choices], parsed.user)
    reply = Reply(task_ids[0], model, shape, choices)
    gathering = gather_or_cancel(svc, task_ids, request.environ.get("gunicorn.socket"))
    if parsed.stream:
        body = chunks(events_of(svc.store, gathering), reply, parsed.usage_at_end(), parsed.usage_in_every_chunk())
        return event_stream(body, gathering, {})
    return respond(reply.whole(finals(svc.store, gathering, len(choices), failure)), nulls=True)


def chunks(found: Iterable[tuple[int, dict[str, Any]]], reply: Reply, usage: bool, every_chunk: bool) -> Iterator[str]:
    """OpenAI's chunks from the tasks' events, then the usage of all (when asked), then [DONE]. A failed
    choice ends the stream with an error event."""
    streams = [ChoiceStream(reply, choice) for choice in reply.choices]
    for stream in streams:
        yield from _sent(stream.first(), stream, every_chunk)
    finals: dict[int, dict[str, Any]] = {}
    try:
        for index, event in found:
            if event["status"] == "completed":
                finals[index] = event
            yield from _sent(streams[index].feed(event), streams[index], every_chunk)
    except ApiError as error:
        yield _sse(error_chunk(error))
    else:
        if usage and len(finals) == len(streams):
            yield _sse(reply.usage_chunk(reply.usage([finals[index] for index in range(len(streams))])))
    yield "data: [DONE]\n\n"


def _sent(found: Iterator[Chunk], stream: ChoiceStream, every_chunk: bool) -> Iterator[str]:
    for chunk in found:
        if every_chunk:
            chunk.usage = stream.usage or Usage.of(0, 0)
        yield _sse(chunk)


def _sse(payload: BaseModel) -> str:
    return f"data: {json.dumps(payload.model_dump(mode='json'))}\n\n"
