"""The Responses API's objects in OpenAI's shapes, built from a response's task record."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel

from contract.statuses import TaskStatus
from contract.task_store import TaskRecord

from ..openai.tools import ToolMode, tool_calls

ID_PREFIX = "resp_"
STATUSES = {
    TaskStatus.QUEUED: "queued",
    TaskStatus.PROCESSING: "in_progress",
    TaskStatus.COMPLETED: "completed",
    TaskStatus.FAILED: "failed",
    TaskStatus.CANCELLED: "cancelled",
}


class OutputText(BaseModel):
    type: Literal["output_text"] = "output_text"
    text: str
    annotations: list[Any] = []


class OutputMessage(BaseModel):
    id: str
    type: Literal["message"] = "message"
    role: Literal["assistant"] = "assistant"
    status: Literal["completed", "incomplete"]
    content: list[OutputText]


class FunctionCall(BaseModel):
    """A call the model made: the response's answer is this call (and any text before it)."""

    id: str
    type: Literal["function_call"] = "function_call"
    call_id: str
    name: str
    arguments: str
    status: Literal["in_progress", "completed", "incomplete"] = "completed"


class InputTokensDetails(BaseModel):
    cached_tokens: int = 0


class OutputTokensDetails(BaseModel):
    reasoning_tokens: int = 0


class ResponseUsage(BaseModel):
    input_tokens: int
    input_tokens_details: InputTokensDetails = InputTokensDetails()
    output_tokens: int
    output_tokens_details: OutputTokensDetails = OutputTokensDetails()
    total_tokens: int


class ResponseError(BaseModel):
    code: str
    message: str


class IncompleteDetails(BaseModel):
    reason: Literal["max_output_tokens"]


OutputItem = OutputMessage | FunctionCall


class ResponseObject(BaseModel):
    id: str
    object: Literal["response"] = "response"
    created_at: int
    completed_at: int | None
    status: Literal["queued", "in_progress", "completed", "incomplete", "failed", "cancelled"]
    model: str
    output: list[OutputItem]
    usage: ResponseUsage | None
    error: ResponseError | None
    incomplete_details: IncompleteDetails | None
    instructions: str | None
    previous_response_id: str | None
    max_output_tokens: int | None
    temperature: float
    top_p: float
    background: bool
    store: bool
    metadata: dict[str, str]
    user: str | None
    parallel_tool_calls: bool
    tool_choice: str | dict[str, Any]
    tools: list[dict[str, Any]]
    text: dict[str, Any]
    truncation: Literal["disabled"] = "disabled"

    @classmethod
    def of(cls, record: TaskRecord) -> ResponseObject:
        kept = record.response or {}
        length = record.metrics.get("finish_reason") == "length"
        status = "incomplete" if record.status is TaskStatus.COMPLETED and length else STATUSES[record.status]
        return cls(
            id=response_id(record.task_id),
            created_at=int(record.created_at),
            completed_at=int(record.finished_at) if record.finished_at else None,
            status=status,  # type: ignore[arg-type]
            model=record.model,
            output=_output(record, status),
            usage=_usage(record),
            error=ResponseError(code=record.error_type or "server_error", message=record.error_message or "")
            if record.status is TaskStatus.FAILED
            else None,
            incomplete_details=IncompleteDetails(reason="max_output_tokens") if status == "incomplete" else None,
            instructions=kept.get("instructions"),
            previous_response_id=kept.get("previous_response_id"),
            max_output_tokens=kept.get("max_output_tokens"),
            temperature=record.params.temperature,
            top_p=record.params.top_p,
            background=bool(kept.get("background")),
            store=kept.get("store", True),
            metadata=kept.get("metadata") or {},
            user=record.user_id,
            parallel_tool_calls=kept.get("parallel_tool_calls", True),
            tool_choice=kept.get("tool_choice", "auto"),
            tools=kept.get("tools", []),
            text={"format": (kept.get("text") or {}).get("format", {"type": "text"})},
        )


class InputMessageItem(BaseModel):
    id: str
    type: Literal["message"] = "message"
    role: str
    status: Literal["completed"] = "completed"
    content: list[dict[str, str]]


class FunctionCallOutputItem(BaseModel):
    id: str
    type: Literal["function_call_output"] = "function_call_output"
    call_id: str
    output: str
    status: Literal["completed"] = "completed"


InputItem = InputMessageItem | FunctionCall | FunctionCallOutputItem


class InputItemList(BaseModel):
    object: Literal["list"] = "list"
    data: list[InputItem]
    first_id: str | None
    last_id: str | None
    has_more: bool


class InputItemsQuery(BaseModel):
    model_config = {"extra": "forbid"}

    limit: int = 20
    order: Literal["asc", "desc"] = "desc"
    after: str | None = None


class DeletedResponse(BaseModel):
    id: str
    object: Literal["response"] = "response"
    deleted: Literal[True] = True


def response_id(task_id: str) -> str:
    return ID_PREFIX + task_id


def task_id_of(found: str) -> str | None:
    return found.removeprefix(ID_PREFIX) if found.startswith(ID_PREFIX) else None


def input_items(record: TaskRecord) -> list[InputItem]:
    """The response's own input (not the conversation before it), oldest first."""
    given = (record.response or {}).get("input", [])
    return [_input_item(item, f"{record.task_id}_{index}") for index, item in enumerate(given)]


def _input_item(item: dict[str, Any], number: str) -> InputItem:
    kind = item.get("type", "message")
    if kind == "function_call":
        fields = {name: item[name] for name in ("call_id", "name", "arguments")}
        return FunctionCall(id=item.get("id") or f"fc_{number}", **fields)
    if kind == "function_call_output":
        return FunctionCallOutputItem(
            id=item.get("id") or f"fco_{number}", call_id=item["call_id"], output=item["output"]
        )
    text = message_text(item)
    part = "output_text" if item["role"] == "assistant" else "input_text"
    return InputMessageItem(
        id=item.get("id") or f"msg_{number}", role=item["role"], content=[{"type": part, "text": text}]
    )


def message_text(item: dict[str, Any]) -> str:
    """A stored message item's text: its content, a string or text parts joined."""
    content = item["content"]
    return content if isinstance(content, str) else "".join(part["text"] for part in content)


def answer(record: TaskRecord) -> tuple[str | None, list[dict[str, Any]]]:
    """A completed response's (text, function calls in chat's shape): its output parsed with the tool mode it
    ran with, the calls' ids derived from the task's, so they are the same on every read."""
    mode = ToolMode(**(record.response or {}).get("tool_mode", {"kind": "off"}))
    return tool_calls(mode, record.result or "", call_ids(record.task_id))


def call_ids(task_id: str) -> Callable[[int], str]:
    """A response's n-th function call's call_id: derived from its task's id, the same on every read."""
    return lambda n: f"call_{task_id.replace('-', '')}_{n}"


def call_item_id(task_id: str, index: int) -> str:
    return f"fc_{task_id}_{index}"


def _output(record: TaskRecord, status: str) -> list[OutputItem]:
    """A message with the text (when there is text, or no call), then each function call."""
    if record.status is not TaskStatus.COMPLETED:
        return []
    done: Literal["completed", "incomplete"] = "incomplete" if status == "incomplete" else "completed"
    text, calls = answer(record)
    items: list[OutputItem] = []
    if text or not calls:
        items.append(OutputMessage(id=f"msg_{record.task_id}", status=done, content=[OutputText(text=text or "")]))
    for index, call in enumerate(calls):
        function = call["function"]
        items.append(
            FunctionCall(
                id=call_item_id(record.task_id, index),
                call_id=call["id"],
                name=function["name"],
                arguments=function["arguments"],
                status=done,
            )
        )
    return items


def _usage(record: TaskRecord) -> ResponseUsage | None:
    if record.status is not TaskStatus.COMPLETED:
        return None
    prompt, generated = int(record.metrics.get("prompt_tokens", 0)), int(record.metrics.get("completion_tokens", 0))
    cached = InputTokensDetails(cached_tokens=int(record.metrics.get("cached_tokens", 0)))
    return ResponseUsage(
        input_tokens=prompt, input_tokens_details=cached, output_tokens=generated, total_tokens=prompt + generated
    )
