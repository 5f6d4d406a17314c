"""The Responses API's objects in OpenAI's shapes, built from a response's task record."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from contract.statuses import TaskStatus
from contract.task_store import TaskRecord

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


class TextFormat(BaseModel):
    type: Literal["text"] = "text"


class TextConfig(BaseModel):
    format: TextFormat = TextFormat()


class ResponseObject(BaseModel):
    id: str
    object: Literal["response"] = "response"
    created_at: int
    completed_at: int | None
    status: Literal["queued", "in_progress", "completed", "incomplete", "failed", "cancelled"]
    model: str
    output: list[OutputMessage]
    usage: ResponseUsage | None
    error: ResponseError | None
    incomplete_details: IncompleteDetails | None
    instructions: str | None
    previous_response_id: str | None
    max_output_tokens: int | None
    temperature: float
    top_p: float
    background: bool
    store: Literal[True] = True
    metadata: dict[str, str]
    user: str | None
    parallel_tool_calls: bool = True
    tool_choice: Literal["auto"] = "auto"
    tools: list[Any] = []
    text: TextConfig = TextConfig()
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
            metadata=kept.get("metadata") or {},
            user=record.user_id,
        )


class InputItem(BaseModel):
    id: str
    type: Literal["message"] = "message"
    role: str
    status: Literal["completed"] = "completed"
    content: list[dict[str, str]]


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
    found = (record.response or {}).get("input", [])
    return [
        InputItem(
            id=f"msg_{record.task_id}_{index}",
            role=message["role"],
            content=[
                {"type": "input_text" if message["role"] != "assistant" else "output_text", "text": message["content"]}
            ],
        )
        for index, message in enumerate(found)
    ]


def _output(record: TaskRecord, status: str) -> list[OutputMessage]:
    if record.status is not TaskStatus.COMPLETED:
        return []
    done = "incomplete" if status == "incomplete" else "completed"
    return [OutputMessage(id=f"msg_{record.task_id}", status=done, content=[OutputText(text=record.result or "")])]


def _usage(record: TaskRecord) -> ResponseUsage | None:
    if record.status is not TaskStatus.COMPLETED:
        return None
    prompt, generated = int(record.metrics.get("prompt_tokens", 0)), int(record.metrics.get("completion_tokens", 0))
    return ResponseUsage(input_tokens=prompt, output_tokens=generated, total_tokens=prompt + generated)
