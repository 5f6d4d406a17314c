"""The Responses API's part of the OpenAPI document, in OpenAI's shapes."""

from __future__ import annotations

from typing import Any

from ..docs.components import Components, Operation, query_parameters, request_body, sse
from ..http.errors import OpenAIErrorBody
from ..openai.openapi import OPENAI
from ..settings import ApiSettings
from .protocol import ResponseCreateRequest
from .shapes import DeletedResponse, InputItemList, InputItemsQuery, ResponseObject

ONE = "/v1/responses/{response_id}"
CREATE = (
    "Create a response: answered when done, as Server-Sent Events of OpenAI's Responses events with "
    "stream: true, or at once with background: true"
)
CREATE_ERRORS = (400, 401, 403, 404, 413, 415, 429, 503)
BY_ID = (401, 404, 503)


STREAMED_EVENT = {
    "type": "object",
    "required": ["type", "sequence_number"],
    "properties": {"type": {"type": "string"}, "sequence_number": {"type": "integer", "minimum": 0}},
    "description": "one of OpenAI's Responses events (response.created ... response.completed), named by `type`",
}


def paths(settings: ApiSettings, c: Components) -> dict[str, Any]:
    response, deleted = c.json(ResponseObject, "The response"), c.json(DeletedResponse, "Deleted")
    streamed = sse(STREAMED_EVENT, "With stream: true, the response's events", resumable=False)["content"]
    answered = {"description": CREATE, "content": {**response["content"], **streamed}}
    items = c.json(InputItemList, "Its input items")
    created = {"requestBody": request_body("application/json", c.ref(ResponseCreateRequest))}
    listing = {"parameters": query_parameters(InputItemsQuery)}
    return c.paths(
        OpenAIErrorBody,
        OPENAI,
        Operation("post", "/v1/responses", "v1_responses_create", CREATE, answered, CREATE_ERRORS, more=created),
        Operation("get", ONE, "v1_responses_retrieve", "A response", response, BY_ID),
        Operation("post", f"{ONE}/cancel", "v1_responses_cancel", "Cancel a response", response, (*BY_ID, 409)),
        Operation("delete", ONE, "v1_responses_delete", "Delete a response", deleted, BY_ID),
        Operation(
            "get",
            f"{ONE}/input_items",
            "v1_responses_input_items",
            "Its input items",
            items,
            (400, *BY_ID),
            more=listing,
        ),
    )
