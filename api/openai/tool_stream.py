"""Tool calls streamed as they are generated (OpenAI's and vLLM's stream shape): a call's first delta has its
index, id and name as soon as the name is complete, then its arguments' text follows as it comes, in pieces
whose concatenation is the arguments' JSON.

The calls are found in the output as tools.py parses it when it ends: Hermes `<tool_call>{"name": ...,
"arguments": ...}` blocks (`auto`), an array of `{"name", "parameters"}` objects (`required`), or the
arguments alone (a named function). A call whose keys come in another order is not streamed; it is sent
whole at the end, as every call was before."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from .shapes import FunctionCallDelta, ToolCallDelta
from .tools import OPEN, ToolMode

_STRING = r'"((?:[^"\\]|\\.)*)"'
HEADS = {
    "auto": re.compile(re.escape(OPEN) + r'\s*\{\s*"name"\s*:\s*' + _STRING + r'\s*,\s*"arguments"\s*:\s*'),
    "required": re.compile(r'[\[,]\s*\{\s*"name"\s*:\s*' + _STRING + r'\s*,\s*"parameters"\s*:\s*'),
}


class JsonValueEnd:
    """Finds where a JSON value that starts at a given place ends, across pieces of text."""

    def __init__(self) -> None:
        self.depth = 0
        self.started = False
        self.in_string = False
        self.escaped = False
        self.primitive = False

    def scan(self, text: str, start: int) -> tuple[int, bool]:
        """(how far the value reaches in `text` from `start`, whether it is complete there)."""
        for index in range(start, len(text)):
            char = text[index]
            if not self.started:
                self.started = True
                self.primitive = char not in '{["'
            if self.primitive:
                if char in ",}] \n\t\r":
                    return index, True
                continue
            if self._ends_at(char):
                return index + 1, True
        return len(text), False

    def _ends_at(self, char: str) -> bool:
        if self.in_string:
            if self.escaped:
                self.escaped = False
            elif char == "\\":
                self.escaped = True
            elif char == '"':
                self.in_string = False
                return self.depth == 0
            return False
        if char == '"':
            self.in_string = True
        elif char in "{[":
            self.depth += 1
        elif char in "}]":
            self.depth -= 1
            return self.depth == 0
        return False


@dataclass
class _Call:
    id: str
    name: str
    arguments: str = ""


class CallStreamer:
    def __init__(self, mode: ToolMode, call_id: Callable[[int], str] | None = None) -> None:
        """`call_id`: the n-th call's id, where it must be known ahead (random otherwise)."""
        self.mode = mode
        self.new_id = call_id or (lambda _: _new_id())
        self.calls: list[_Call] = []
        self.position = 0  # where in the output the next head is looked for, or the open value goes on
        self.value: JsonValueEnd | None = None

    def feed(self, text: str) -> list[ToolCallDelta]:
        """The deltas of what `text` (the whole output so far) adds to the calls."""
        deltas: list[ToolCallDelta] = []
        while self.value is not None or self._open(text, deltas):
            assert self.value is not None
            end, complete = self.value.scan(text, self.position)
            if end > self.position:
                call = self.calls[-1]
                call.arguments += text[self.position : end]
                deltas.append(_arguments(len(self.calls) - 1, text[self.position : end]))
                self.position = end
            if not complete:
                break
            self.value = None
        return deltas

    def call_id(self, index: int) -> str:
        """The id a call has (or gets) in the finished output's parse."""
        return self.calls[index].id if index < len(self.calls) else self.new_id(index)

    def sent(self, index: int) -> str | None:
        """The arguments' text sent for a call, None when the call was not streamed."""
        return self.calls[index].arguments if index < len(self.calls) else None

    def _open(self, text: str, deltas: list[ToolCallDelta]) -> bool:
        """Starts the next call when its head is complete in the text."""
        if self.mode.kind == "named":
            if self.calls or not text.strip():
                return False
            name, self.position = self.mode.name or "", len(text) - len(text.lstrip())
        elif self.mode.kind in HEADS:
            found = HEADS[self.mode.kind].search(text, self.position)
            if found is None:
                return False
            name, self.position = json.loads(f'"{found.group(1)}"'), found.end()
        else:
            return False
        self.calls.append(_Call(self.new_id(len(self.calls)), name))
        self.value = JsonValueEnd()
        function = FunctionCallDelta(name=name, arguments="")
        deltas.append(
            ToolCallDelta(index=len(self.calls) - 1, id=self.calls[-1].id, type="function", function=function)
        )
        return True


def _arguments(index: int, text: str) -> ToolCallDelta:
    return ToolCallDelta(index=index, function=FunctionCallDelta(arguments=text))


def _new_id() -> str:
    return f"call_{uuid.uuid4().hex[:24]}"
