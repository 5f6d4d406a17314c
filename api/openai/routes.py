"""OpenAI-compatible routes: GET /v1/models, POST /v1/completions, POST /v1/chat/completions.

Each choice of a request (prompts × n) is a task like any other (same queue, workers, engine, limits,
metrics and logs); the route follows its tasks' events together and answers in OpenAI's shapes, streamed
as chunks when asked. A client that disconnects cancels its tasks."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from typing import Any

import redis
from flask import Blueprint, g, request
from pydantic import BaseModel

from contract import heartbeats, model_registry
from contract.task_store import TaskStore

from ..http.auth import require_api_key
from ..http.bodies import json_object, respond, validated
from ..http.errors import ApiError
from ..http.model_access import resolve_model
from ..http.rate_limit import counted_against_limit
from ..services import Services, services
from ..tasks.events import CLIENT_GONE, Gathering, check_room, event_stream, gather
from ..tasks.submission import submit
from .planning import choices_of, parse, shape_of
from .protocol import ChatCompletionRequest, CompletionRequest
from .serving import Choice, ChoiceStream, Chunk, Reply, error_chunk, failure
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
    return parse(schema, json_object(), services().settings.max_tokens_limit)


def _complete(parsed: Any) -> Any:
    model, registered = resolve_model(parsed.model, unknown_status=404)
    svc = services()
    shape = shape_of(parsed)
    choices = choices_of(parsed, shape, svc.settings, registered)
    check_room(svc.hub, len(choices))  # this request will follow its tasks: refuse it before they exist
    task_ids = _submit_all(svc, model, choices, parsed.user)
    reply = Reply(task_ids[0], model, shape, choices)
    gathering = _gather_or_cancel(svc.store, svc, task_ids, request.environ.get("gunicorn.socket"))
    if parsed.stream:
        body = chunks(_events(svc.store, gathering), reply, parsed.usage_at_end(), parsed.usage_in_every_chunk())
        return event_stream(body, gathering, {})
    return respond(reply.whole(_finals(svc.store, gathering, len(choices))), nulls=True)


def _submit_all(svc: Services, model: str, choices: list[Choice], user: str | None) -> list[str]:
    """One task per choice; when one cannot be submitted, those already are cancelled (nobody will read them)."""
    task_ids: list[str] = []
    try:
        for choice in choices:
            task_ids.append(
                submit(svc, owner=g.key_id, tenant=g.tenant, model=model, params=choice.params, user_id=user)
            )
    except Exception:
        _cancel(svc.store, task_ids)
        raise
    return task_ids


def _gather_or_cancel(store: TaskStore, svc: Services, task_ids: list[str], client: Any) -> Gathering:
    """The tasks' follower; when there is none to be had (full since the check, or Redis failing), the tasks
    are cancelled before the request is answered with an error: nobody would read their results."""
    try:
        return gather(svc.hub, task_ids, client)
    except (ApiError, redis.RedisError):
        _cancel(store, task_ids)
        raise


def _cancel(store: TaskStore, task_ids: Iterable[str]) -> None:
    for task_id in task_ids:
        with contextlib.suppress(redis.RedisError):  # the task then runs to its end, unread
            store.request_cancel(task_id)


def _events(store: TaskStore, gathering: Gathering) -> Iterator[tuple[int, dict[str, Any]]]:
    """The tasks' events until every final one; cancels what is left if the client goes away, or if the
    reader stops early (a failed choice). (The store is passed in: a streamed response runs after the
    request's app context has gone.)"""
    try:
        for item in gathering:
            if item is not None:
                yield item
    finally:
        if gathering.ended_by in (CLIENT_GONE, None):
            _cancel(store, gathering.unfinished())


def _finals(store: TaskStore, gathering: Gathering, count: int) -> list[dict[str, Any]]:
    finals: list[dict[str, Any] | None] = [None] * count
    for index, event in _events(store, gathering):
        if event["status"] == "failed":
            raise failure(event)  # the others are cancelled as the reader stops
        if event["status"] == "completed":
            finals[index] = event
    if any(final is None for final in finals):
        raise ApiError(499, "Client closed the request")  # nobody is left to read it
    return finals  # type: ignore[return-value]


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
