"""OpenAI-compatible routes: GET /v1/models, POST /v1/completions, POST /v1/chat/completions.

A request here is a task like any other (same queue, workers, engine, limits, metrics and logs); the route
waits on the task's events and answers in OpenAI's shapes, streamed as chunks when asked. A client that
disconnects cancels its task."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

import redis
from flask import Blueprint, g, jsonify, request
from pydantic import BaseModel, ValidationError

from contract import events, heartbeats, model_registry
from contract.task_store import TaskStore

from ..auth import require_api_key
from ..errors import ApiError
from ..event_hub import EventHub
from ..model_access import resolve_model
from ..openai_format import Reply, error_chunk
from ..openai_schemas import ChatCompletionRequest, CompletionRequest, unsupported
from ..rate_limit import counted_against_limit
from ..request_body import json_object, validated
from ..schemas import field_errors
from ..services import services
from ..submission import submit, task_params
from ..task_events import CLIENT_GONE, Follower, check_room, event_stream, follow

bp = Blueprint("openai", __name__, url_prefix="/v1")


@bp.get("/models")
@require_api_key
def models() -> Any:
    return jsonify({"object": "list", "data": [_model_object(name) for name in _model_names()]})


@bp.get("/models/<path:model>")
@require_api_key
def model(model: str) -> Any:
    """One model, as OpenAI's `models.retrieve` asks; ids with slashes (org/name) included, as vLLM serves them."""
    if model not in _model_names():
        raise ApiError(404, f"The model {model!r} does not exist", field="model", code="model_not_found")
    return jsonify(_model_object(model))


def _model_names() -> list[str]:
    """The default model, those live workers serve, and those the operator runs."""
    svc = services()
    live = heartbeats.loaded_models(heartbeats.live(svc.redis))
    return sorted({svc.settings.model_id, *live, *model_registry.read(svc.redis)})


def _model_object(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": 0, "owned_by": "llm-service"}


@bp.post("/completions")
@require_api_key
@validated(lambda: _parse(CompletionRequest))
@counted_against_limit
def completions(request_and_text: tuple[Any, dict[str, Any]]) -> Any:
    return _complete(*request_and_text, chat=False)


@bp.post("/chat/completions")
@require_api_key
@validated(lambda: _parse(ChatCompletionRequest))
@counted_against_limit
def chat_completions(request_and_text: tuple[Any, dict[str, Any]]) -> Any:
    return _complete(*request_and_text, chat=True)


def _complete(parsed: Any, text: dict[str, Any], *, chat: bool) -> Any:
    model, registered = resolve_model(parsed.model, unknown_status=404)
    svc = services()
    params = task_params(
        svc.settings,
        registered,
        max_tokens=parsed.wanted_tokens(),
        temperature=parsed.temperature,
        top_p=parsed.top_p,
        stop=tuple(parsed.stop_list()),
        seed=parsed.seed,
        **text,
    )
    check_room(svc.hub)  # this request will follow its task: refuse it before the task exists
    task_id = submit(svc, owner=g.key_id, model=model, params=params, user_id=parsed.user)
    reply = Reply(task_id, model, chat=chat)
    follower = _follow_or_cancel(svc.store, svc.hub, task_id, request.environ.get("gunicorn.socket"))
    if parsed.stream:
        usage = bool(parsed.stream_options and parsed.stream_options.include_usage)
        body = chunks(_events(svc.store, follower), reply, usage)
        return event_stream(body, follower, {})
    final = _final_event(svc.store, follower)
    if final["status"] == "failed":
        raise _failure(final)
    return jsonify(reply.whole(final["result"], final["metrics"]))


def _parse(schema: type[BaseModel]) -> tuple[Any, dict[str, Any]]:
    """The parsed request, and its text: {"prompt": ...} or {"messages": ...}."""
    body = json_object()
    refused = unsupported(body, schema)
    if refused is not None:
        raise ApiError(400, refused[1], field=refused[0])
    try:
        parsed: Any = schema.model_validate(body, context={"max_tokens_limit": services().settings.max_tokens_limit})
        if isinstance(parsed, ChatCompletionRequest):
            return parsed, {"messages": parsed.rendered_messages()}
    except ValidationError as error:
        errors = field_errors(error.errors())
        raise ApiError(400, f"Invalid {errors[0]['field']}: {errors[0]['message']}", field=errors[0]["field"]) from None
    except ValueError as error:
        raise ApiError(400, f"Invalid messages: {error}", field="messages") from None
    return parsed, {"prompt": parsed.prompt}


def _follow_or_cancel(store: TaskStore, hub: EventHub, task_id: str, client: Any) -> Follower:
    """The task's follower; when there is none to be had (full since the check, or Redis failing), the task
    is cancelled before it is answered with an error: nobody would read its result."""
    try:
        return follow(hub, task_id, events.START, client)
    except (ApiError, redis.RedisError):
        store.request_cancel(task_id)
        raise


def _events(store: TaskStore, follower: Follower) -> Iterator[dict[str, Any]]:
    """The task's events until its final one; cancels the task if the client goes away meanwhile. (The
    store is passed in: a streamed response runs after the request's app context has gone.)"""
    for item in follower:
        if item is not None:
            yield item[1]
    if follower.ended_by == CLIENT_GONE:
        store.request_cancel(follower.subscription.task_id)


def _final_event(store: TaskStore, follower: Follower) -> dict[str, Any]:
    for event in _events(store, follower):
        if events.is_final(event):
            return event
    raise ApiError(499, "Client closed the request")  # nobody is left to read it


def chunks(found: Iterable[dict[str, Any]], reply: Reply, usage: bool) -> Iterator[str]:
    """OpenAI's chunks from a task's events. When a worker was lost and generation started over
    (`restarted`), the text already sent is not sent again: the new deltas are checked against it and only
    what goes past it is sent; if the new text differs (sampling), the stream ends with an error instead."""
    yield _sse(reply.first_chunk())
    sent, replay = "", None  # replay: the new attempt's text while it is still within what was sent
    for event in found:
        if event.get("restarted") and sent:
            replay = ""
        elif event.get("delta"):
            delta = event["delta"]
            if replay is not None:
                replay += delta
                if not (sent.startswith(replay) or replay.startswith(sent)):
                    yield _sse(error_chunk(ApiError(500, "generation restarted with different text", code="restarted")))
                    break
                if len(replay) <= len(sent):
                    continue
                delta, replay = replay[len(sent) :], None
            sent += delta
            yield _sse(reply.delta_chunk(delta))
        elif event["status"] == "completed":
            yield _sse(reply.last_chunk(event["metrics"].get("finish_reason") or "length"))
            if usage:
                yield _sse(reply.usage_chunk(event["metrics"]))
        elif event["status"] == "failed":
            yield _sse(error_chunk(_failure(event)))
    yield "data: [DONE]\n\n"


def _sse(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload)}\n\n"


def _failure(event: dict[str, Any]) -> ApiError:
    kind, message = event.get("error_type") or "Error", event.get("error_message") or "generation failed"
    if kind == "ContextLengthError":
        return ApiError(400, message, field="max_tokens", code="context_length_exceeded")
    return ApiError(504 if kind == "TimeoutError" else 500, f"{kind}: {message}", code=kind)
