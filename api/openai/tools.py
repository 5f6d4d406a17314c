"""Tool calling on /v1/chat/completions, as vLLM does it.

- `auto` (the default when tools are given): the model may answer in the Hermes format, each call a JSON
  object {"name", "arguments"} inside <tool_call>...</tool_call>; those are parsed out of the text.
- `required` and a named function: the output is constrained (JSON schema) to an array of calls, or to the
  named function's arguments, so even a model that knows nothing of tools returns a valid call.
- `none`: tools reach the template, nothing is parsed."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .protocol import ChatCompletionRequest, NamedToolChoice

OPEN, CLOSE = "<tool_call>", "</tool_call>"
_CALL = re.compile(re.escape(OPEN) + r"(.*?)(?:" + re.escape(CLOSE) + r"|$)", re.DOTALL)
ANY_OBJECT: dict[str, Any] = {"type": "object"}


@dataclass(frozen=True)
class ToolMode:
    kind: str
    """"off" (no tools or tool_choice none), "auto", "required" or "named\""""
    name: str | None = None
    """the function, when named"""

    @property
    def streams_text(self) -> bool:
        """Whether text deltas go out as they come (a constrained call is sent whole at the end)."""
        return self.kind in ("off", "auto")


def tool_mode(request: ChatCompletionRequest) -> ToolMode:
    choice = request.tool_choice
    named = choice.function.name if isinstance(choice, NamedToolChoice) else None
    return choose(bool(request.tools), choice if isinstance(choice, str) else None, named)


def choose(has_tools: bool, choice: str | None, named: str | None) -> ToolMode:
    """The mode of a request's tools and tool_choice (a string, or the name of a forced function)."""
    if not has_tools or choice == "none":
        return ToolMode("off")
    if named is not None:
        return ToolMode("named", named)
    return ToolMode("required" if choice == "required" else "auto")


def constraint(request: ChatCompletionRequest, mode: ToolMode) -> dict[str, Any] | None:
    """The JSON schema the output must follow, if any (response_format, or a forced tool call)."""
    tools = {tool.function.name: tool.function.parameters for tool in request.tools or []}
    forced = call_schema(mode, tools, request.parallel_tool_calls)
    found = request.response_format
    if forced is not None or found is None or found.type == "text":
        return forced
    return found.json_schema.schema_ if found.type == "json_schema" and found.json_schema else ANY_OBJECT


def call_schema(
    mode: ToolMode, tools: dict[str, dict[str, Any] | None], parallel: bool | None
) -> dict[str, Any] | None:
    """The JSON schema a forced call follows (`named`: its arguments; `required`: an array of calls), else None."""
    if mode.kind == "named":
        return tools[mode.name or ""] or ANY_OBJECT
    if mode.kind != "required":
        return None
    calls = [
        {
            "type": "object",
            "properties": {"name": {"const": name}, "parameters": parameters or ANY_OBJECT},
            "required": ["name", "parameters"],
            "additionalProperties": False,
        }
        for name, parameters in tools.items()
    ]
    limit = {"maxItems": 1} if parallel is False else {}
    return {"type": "array", "minItems": 1, **limit, "items": {"anyOf": calls}}


CallId = Callable[[int], str]
"""the id of a finished output's n-th call"""


def tool_calls(mode: ToolMode, text: str, call_id: CallId | None = None) -> tuple[str | None, list[dict[str, Any]]]:
    """(content, tool calls) of a finished output; no calls leaves the text as it was. Calls get random ids
    unless `call_id` names them (a stored response is parsed again each time it is read)."""
    named = call_id or (lambda _: f"call_{uuid.uuid4().hex[:24]}")
    if mode.kind == "named":
        return None, [_call(named(0), mode.name or "", text.strip())]
    if mode.kind == "required":
        try:
            found = json.loads(text)
            return None, [_call(named(n), item["name"], json.dumps(item["parameters"])) for n, item in enumerate(found)]
        except (ValueError, KeyError, TypeError):
            return text, []  # cut short by max_tokens: what there is, as text
    if mode.kind == "auto" and OPEN in text:
        return _hermes(text, named)
    return text, []


def _hermes(text: str, call_id: CallId) -> tuple[str | None, list[dict[str, Any]]]:
    calls: list[dict[str, Any]] = []
    for body in _CALL.findall(text):
        try:
            found = json.loads(body)
            arguments = found.get("arguments", {})
            arguments = arguments if isinstance(arguments, str) else json.dumps(arguments)
            calls.append(_call(call_id(len(calls)), found["name"], arguments))
        except (ValueError, KeyError, TypeError, AttributeError):
            return text, []  # not a well-formed call: the text is the answer, as vLLM's parser does
    content = text[: text.index(OPEN)].strip()
    return content or None, calls


def _call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def held_back(text: str) -> int:
    """How much of the end of a streamed text to hold back, in auto mode: everything from a tool call's
    opening tag on, and any end that could be the start of one."""
    if OPEN in text:
        return len(text) - text.index(OPEN)
    for size in range(min(len(OPEN) - 1, len(text)), 0, -1):
        if text.endswith(OPEN[:size]):
            return size
    return 0
