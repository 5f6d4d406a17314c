"""What a response asks the model: its instructions, the conversation of the response it continues
(`previous_response_id`: that one's own conversation, input and answer, rebuilt from its stored record), then
its input; and what its record keeps for the next one. Input items are kept as given (messages, function
calls and their outputs) and become chat messages for the model's template here."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from contract.statuses import TaskStatus

from ..http.errors import ApiError
from ..openai.tools import ANY_OBJECT, ToolMode, call_schema, choose
from .protocol import FunctionChoice, ResponseCreateRequest
from .records import owned_response
from .shapes import answer, message_text


def conversation(parsed: ResponseCreateRequest) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(the chat messages to run, what the response's record keeps)."""
    history = _history(parsed.previous_response_id) if parsed.previous_response_id else []
    given = [item.model_dump(mode="json", exclude_none=True, by_alias=True) for item in parsed.input]
    system = [{"role": "system", "content": parsed.instructions}] if parsed.instructions else []
    kept = {
        "instructions": parsed.instructions,
        "previous_response_id": parsed.previous_response_id,
        "max_output_tokens": parsed.max_output_tokens,
        "background": parsed.background,
        "store": parsed.store,
        "metadata": parsed.metadata or {},
        "history": history,
        "input": given,
        **_tool_settings(parsed),
    }
    return system + history + as_messages(given), kept


def _tool_settings(parsed: ResponseCreateRequest) -> dict[str, Any]:
    """What the record keeps of the tools and the format: echoed in the response object, and the mode its
    output is parsed with each time it is read."""
    choice = parsed.tool_choice
    named = choice.name if isinstance(choice, FunctionChoice) else None
    mode = choose(bool(parsed.tools), choice if isinstance(choice, str) else None, named)
    return {
        "tools": [tool.model_dump(mode="json", exclude_none=True) for tool in parsed.tools or []],
        "tool_choice": choice.model_dump() if isinstance(choice, FunctionChoice) else choice or "auto",
        "parallel_tool_calls": parsed.parallel_tool_calls is not False,
        "text": parsed.text.model_dump(mode="json", exclude_none=True, by_alias=True) if parsed.text else None,
        "tool_mode": asdict(mode),
    }


def output_constraint(parsed: ResponseCreateRequest, mode: ToolMode) -> dict[str, Any] | None:
    """The JSON schema the output follows: a forced call's, else text.format's, else none."""
    tools = {tool.name: tool.parameters for tool in parsed.tools or []}
    forced = call_schema(mode, tools, parsed.parallel_tool_calls)
    found = parsed.text.format if parsed.text else None
    if forced is not None or found is None or found.type == "text":
        return forced
    return found.schema_ if found.type == "json_schema" else ANY_OBJECT


def as_messages(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stored input items as chat messages: a function call joins the assistant message just before it (or
    starts one), its output is a `tool` message, a `developer` message a system one."""
    messages: list[dict[str, Any]] = []
    for item in items:
        kind = item.get("type", "message")
        if kind == "function_call":
            call = {"id": item["call_id"], "type": "function", "function": {k: item[k] for k in ("name", "arguments")}}
            if not (messages and messages[-1]["role"] == "assistant"):
                messages.append({"role": "assistant", "content": ""})
            messages[-1].setdefault("tool_calls", []).append(call)
        elif kind == "function_call_output":
            messages.append({"role": "tool", "tool_call_id": item["call_id"], "content": item["output"]})
        else:
            role = "system" if item["role"] == "developer" else item["role"]
            messages.append({"role": role, "content": message_text(item)})
    return messages


def _history(previous_id: str) -> list[dict[str, Any]]:
    """The earlier response's conversation without its instructions (OpenAI does not carry them over)."""
    previous = owned_response(previous_id, field="previous_response_id")
    if previous.status is not TaskStatus.COMPLETED:
        raise ApiError(
            400,
            f"Invalid previous_response_id: that response is {previous.status.value}; only a completed one continues",
            field="previous_response_id",
        )
    kept = previous.response or {}
    text, calls = answer(previous)
    said = {"role": "assistant", "content": text or "", **({"tool_calls": calls} if calls else {})}
    return [*kept.get("history", []), *as_messages(kept.get("input", [])), said]
