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
    if not request.tools or choice == "none":
        return ToolMode("off")
    if isinstance(choice, NamedToolChoice):
        return ToolMode("named", choice.function.name)
    return ToolMode("required" if choice == "required" else "auto")


def constraint(request: ChatCompletionRequest, mode: ToolMode) -> dict[str, Any] | None:
    """The JSON schema the output must follow, if any (response_format, or a forced tool call)."""
    tools = {tool.function.name: tool.function.parameters or ANY_OBJECT for tool in request.tools or []}
    if mode.kind == "named":
        return tools[mode.name or ""]
    if mode.kind == "required":
        calls = [
            {
                "type": "object",
                "properties": {"name": {"const": name}, "parameters": parameters},
                "required": ["name", "parameters"],
                "additionalProperties": False,
            }
            for name, parameters in tools.items()
        ]
        limit = {"maxItems": 1} if request.parallel_tool_calls is False else {}
        return {"type": "array", "minItems": 1, **limit, "items": {"anyOf": calls}}
    found = request.response_format
    if found is None or found.type == "text":
        return None
    return found.json_schema.schema_ if found.type == "json_schema" and found.json_schema else ANY_OBJECT


def tool_calls(mode: ToolMode, text: str) -> tuple[str | None, list[dict[str, Any]]]:
    """(content, tool calls) of a finished output; no calls leaves the text as it was."""
    if mode.kind == "named":
        return None, [_call(mode.name or "", text.strip())]
    if mode.kind == "required":
        try:
            return None, [_call(item["name"], json.dumps(item["parameters"])) for item in json.loads(text)]
        except (ValueError, KeyError, TypeError):
            return text, []  # cut short by max_tokens: what there is, as text
    if mode.kind == "auto" and OPEN in text:
        return _hermes(text)
    return text, []


def _hermes(text: str) -> tuple[str | None, list[dict[str, Any]]]:
    calls = []
    for body in _CALL.findall(text):
        try:
            found = json.loads(body)
            arguments = found.get("arguments", {})
            calls.append(_call(found["name"], arguments if isinstance(arguments, str) else json.dumps(arguments)))
        except (ValueError, KeyError, TypeError, AttributeError):
            return text, []  # not a well-formed call: the text is the answer, as vLLM's parser does
    content = text[: text.index(OPEN)].strip()
    return content or None, calls


def _call(name: str, arguments: str) -> dict[str, Any]:
    return {
        "id": f"call_{uuid.uuid4().hex[:24]}",
        "type": "function",
        "function": {"name": name, "arguments": arguments},
    }


def held_back(text: str) -> int:
    """How much of the end of a streamed text to hold back, in auto mode: everything from a tool call's
    opening tag on, and any end that could be the start of one."""
    if OPEN in text:
        return len(text) - text.index(OPEN)
    for size in range(min(len(OPEN) - 1, len(text)), 0, -1):
        if text.endswith(OPEN[:size]):
            return size
    return 0
