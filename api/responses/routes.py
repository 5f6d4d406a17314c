"""OpenAI's Responses API: create (waiting for the answer, or `background` and retrieved later), retrieve,
cancel, delete, and list a response's input items. A response is a task record with a Responses part, so it
is as durable as any task: a worker lost mid-response, an api restarted or a Redis failover still ends it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, request
from pydantic import ValidationError

from contract.statuses import TaskStatus

from ..http.auth import require_api_key
from ..http.bodies import json_object, respond, validated
from ..http.errors import ApiError, invalid
from ..http.model_access import resolve_model
from ..http.rate_limit import counted_against_limit, counted_as_management
from ..openai.tools import ToolMode
from ..services import services
from ..tasks.events import CLIENT_GONE, check_room, event_stream, gather
from ..tasks.submission import submit, task_params
from ..webhooks import targets
from .conversation import conversation, output_constraint
from .protocol import ResponseCreateRequest
from .records import owned_response
from .shapes import DeletedResponse, InputItemList, InputItemsQuery, ResponseObject, input_items
from .streaming import ResponseEvents

bp = Blueprint("responses", __name__, url_prefix="/v1")
MAX_ITEMS_PAGE = 100


def _parse() -> ResponseCreateRequest:
    try:
        limit = {"max_tokens_limit": services().settings.max_tokens_limit}
        return ResponseCreateRequest.model_validate(json_object(), context=limit)
    except ValidationError as error:
        raise invalid(error) from None


@bp.post("/responses")
@require_api_key
@validated(_parse)
@counted_against_limit
def create(parsed: ResponseCreateRequest) -> Any:
    model, registered = resolve_model(parsed.model, unknown_status=404)
    svc = services()
    messages, kept = conversation(parsed)
    params = task_params(
        svc.settings,
        registered,
        messages=messages,
        tools=[tool.for_template() for tool in parsed.tools] if parsed.tools else None,
        json_schema=output_constraint(parsed, ToolMode(**kept["tool_mode"])),
        max_tokens=parsed.max_output_tokens,
        temperature=parsed.temperature,
        top_p=parsed.top_p,
    )
    callback = (parsed.metadata or {}).get("callback_url")
    if callback is not None:
        if not parsed.store:
            raise ApiError(400, "Invalid metadata.callback_url: a webhook needs a stored response", field="store")
        targets.check(callback, svc.settings, field="metadata.callback_url")
    if parsed.stream or not parsed.background:
        check_room(svc.hub)  # this request will follow its task: refuse it before the task exists
    task_id = submit(
        svc,
        owner=g.key_id,
        tenant=g.tenant,
        model=model,
        params=params,
        user_id=parsed.user,
        callback_url=callback,
        response=kept,
        retention=svc.settings.responses_ttl,
    )
    if parsed.stream:
        gathering = gather(svc.hub, [task_id], request.environ.get("gunicorn.socket"))
        events = ResponseEvents(svc.store, task_id, parsed.background, ToolMode(**kept["tool_mode"]))
        body = events.stream(gathering, forget=not parsed.store)
        return event_stream(body, gathering, {})
    if not parsed.background:
        _wait(task_id)
    answer = ResponseObject.of(svc.store.get(task_id))  # type: ignore[arg-type]
    if not parsed.store:
        svc.store.delete(task_id)  # answered: nobody may read it again
    return respond(answer, nulls=True)


def _wait(task_id: str) -> None:
    svc = services()
    gathering = gather(svc.hub, [task_id], request.environ.get("gunicorn.socket"))
    for _ in gathering:
        pass
    if gathering.ended_by == CLIENT_GONE:
        svc.store.request_cancel(task_id)  # nobody is left to read it
        raise ApiError(499, "Client closed the request")


@bp.get("/responses/<response_id>")
@require_api_key
def retrieve(response_id: str) -> Any:
    return respond(ResponseObject.of(owned_response(response_id)), nulls=True)


@bp.post("/responses/<response_id>/cancel")
@require_api_key
@counted_as_management
def cancel(response_id: str) -> Any:
    """A queued response ends `cancelled` at once; one in progress at the engine's next step (answered
    `in_progress`: retrieve it to see it end); a finished one cannot be (409)."""
    record = owned_response(response_id)
    store = services().store
    if record.status is TaskStatus.QUEUED:
        record = store.cancel_if_queued(record.task_id) or record
    if record.status is TaskStatus.PROCESSING:
        store.request_cancel(record.task_id, by_owner=True)
    elif record.status is not TaskStatus.CANCELLED:
        raise ApiError(409, f"Response already {record.status.value}: it cannot be cancelled")
    return respond(ResponseObject.of(record), nulls=True)


@bp.delete("/responses/<response_id>")
@require_api_key
@counted_as_management
def delete(response_id: str) -> Any:
    record = owned_response(response_id)
    store = services().store
    if not record.is_final:
        store.request_cancel(record.task_id, by_owner=True)  # nobody could read it any more
    store.delete(record.task_id)
    return respond(DeletedResponse(id=response_id), nulls=True)


def _items_query() -> InputItemsQuery:
    try:
        query = InputItemsQuery.model_validate(request.args.to_dict())
    except ValidationError as error:
        raise invalid(error) from None
    if not 1 <= query.limit <= MAX_ITEMS_PAGE:
        raise ApiError(400, f"Invalid limit: from 1 to {MAX_ITEMS_PAGE}", field="limit")
    return query


@bp.get("/responses/<response_id>/input_items")
@require_api_key
@validated(_items_query)
def listed_input_items(query: InputItemsQuery, response_id: str) -> Any:
    items = input_items(owned_response(response_id))
    if query.order == "desc":
        items.reverse()
    if query.after is not None:
        ids = [item.id for item in items]
        items = items[ids.index(query.after) + 1 :] if query.after in ids else []
    page = items[: query.limit]
    first, last = (page[0].id, page[-1].id) if page else (None, None)
    return respond(InputItemList(data=page, first_id=first, last_id=last, has_more=len(items) > len(page)), nulls=True)
