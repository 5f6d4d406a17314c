"""A response streamed as OpenAI's Responses events: `response.created`, `response.in_progress`, the output
message and its text part added, `response.output_text.delta` as text is generated, the text, part and
message done, then `response.completed` (or `response.incomplete`, `response.failed`; `response.cancelled`,
which OpenAI does not stream, for a response cancelled meanwhile). Each is an SSE event named by its type,
its data carrying a `sequence_number`.

The message is opened with its first text. With function tools, text that may be a call is held back (as on
/v1/chat/completions), and a forced call streams no text; each function call follows the message as its
own item, added as soon as its name is generated, its arguments streamed as they come (tool_stream.py),
then done; a call that could not be followed as it came is sent whole at the end.

A worker lost mid-response starts the text over; the deltas already sent are not sent twice (the text part
is then closed with the whole text, which the final events carry anyway)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import count
from typing import Any

from contract.statuses import TaskStatus
from contract.task_store import TaskStore

from ..openai.shapes import ToolCallDelta
from ..openai.tool_stream import CallStreamer
from ..openai.tools import ToolMode, held_back
from ..tasks.events import CLIENT_GONE, Gathering
from .shapes import FunctionCall, OutputMessage, OutputText, ResponseObject, call_ids, call_item_id

FINAL_TYPES = {
    "completed": "response.completed",
    "incomplete": "response.incomplete",
    "failed": "response.failed",
    "cancelled": "response.cancelled",
}


class ResponseEvents:
    def __init__(self, store: TaskStore, task_id: str, background: bool, tools: ToolMode) -> None:
        self.store, self.task_id, self.background, self.tools = store, task_id, background, tools
        self.numbers = count()
        self.item_id = f"msg_{task_id}"
        self.started = False
        self.opened = False
        self.sent = 0
        """characters of text sent as deltas (kept across a restart, so none is sent twice)"""
        self.text = ""
        """this attempt's text so far"""
        self.calls = CallStreamer(tools, call_ids(task_id)) if tools.kind != "off" else None
        self.first_call = 0
        """the output index of the first function call: after the message, when there is one"""

    def stream(self, gathering: Gathering, forget: bool = False) -> Iterator[str]:
        """`forget` (store: false): the record is deleted once the stream has ended."""
        try:
            yield self._event("response.created", response=self._response())
            for item in gathering:
                if item is None:
                    yield ": keep-alive\n\n"
                    continue
                yield from self._feed(item[1])
            yield from self._end()
            if forget:
                self.store.delete(self.task_id)
        finally:
            if gathering.ended_by in (CLIENT_GONE, None) and not self.background:
                self.store.request_cancel(self.task_id)  # nobody is left to read it

    def _feed(self, event: dict[str, Any]) -> Iterator[str]:
        if event["status"] != TaskStatus.PROCESSING.value:
            return
        yield from self._start()
        if event.get("restarted"):
            self.text = ""
        self.text += event.get("delta") or ""
        upto = self._shown(self.text)
        if upto > self.sent:
            if not self.opened:
                yield from self._open()
            fresh, self.sent = self.text[self.sent : upto], upto
            yield self._event("response.output_text.delta", **self._place(), delta=fresh, logprobs=[])
        for found in self.calls.feed(self.text) if self.calls is not None else []:
            yield from self._call_delta(found)

    def _call_delta(self, found: ToolCallDelta) -> Iterator[str]:
        """A call's first delta opens its item; the next ones are its arguments as they come."""
        if found.index == 0:
            self.first_call = 1 if self.opened else 0
        index, item_id = self.first_call + found.index, call_item_id(self.task_id, found.index)
        if found.id is not None:
            name = found.function.name or ""
            added = FunctionCall(id=item_id, call_id=found.id, name=name, arguments="", status="in_progress")
            yield self._event("response.output_item.added", output_index=index, item=added.model_dump(mode="json"))
        elif found.function.arguments:
            place = {"item_id": item_id, "output_index": index}
            yield self._event("response.function_call_arguments.delta", **place, delta=found.function.arguments)

    def _start(self) -> Iterator[str]:
        if not self.started:
            self.started = True
            yield self._event("response.in_progress", response=self._response())

    def _shown(self, text: str) -> int:
        """How much of the text may go out now: none of a forced call, none of what may start a call."""
        if not self.tools.streams_text:
            return 0
        return len(text) - (held_back(text) if self.tools.kind == "auto" else 0)

    def _open(self) -> Iterator[str]:
        yield from self._start()
        self.opened = True
        message = OutputMessage(id=self.item_id, status="incomplete", content=[])
        yield self._event("response.output_item.added", output_index=0, item=message.model_dump(mode="json"))
        yield self._event("response.content_part.added", **self._place(), part=_part(""))

    def _end(self) -> Iterator[str]:
        response = self._response()
        calls = [item for item in response.output if isinstance(item, FunctionCall)]
        for found in self.calls.feed(self.text) if self.calls is not None and calls else []:
            yield from self._call_delta(found)
        for index, item in enumerate(response.output):
            if isinstance(item, OutputMessage):
                yield from self._message_done(item)
            else:
                yield from self._call(index, item, calls.index(item))
        yield self._event(FINAL_TYPES.get(response.status, "response.failed"), response=response)

    def _message_done(self, message: OutputMessage) -> Iterator[str]:
        if not self.opened:
            yield from self._open()
        text = message.content[0].text
        yield self._event("response.output_text.done", **self._place(), text=text, logprobs=[])
        yield self._event("response.content_part.done", **self._place(), part=_part(text))
        yield self._event("response.output_item.done", output_index=0, item=message.model_dump(mode="json"))

    def _call(self, index: int, call: FunctionCall, number: int) -> Iterator[str]:
        """A call's last events; all of them for one that was not streamed as it came."""
        yield from self._start()
        place = {"item_id": call.id, "output_index": index}
        sent = self.calls.sent(number) if self.calls is not None else None
        if sent is None:
            added = call.model_copy(update={"arguments": "", "status": "in_progress"})
            yield self._event("response.output_item.added", output_index=index, item=added.model_dump(mode="json"))
            sent = ""
        rest = call.arguments[len(sent) :] if call.arguments.startswith(sent) else ""
        if rest:
            yield self._event("response.function_call_arguments.delta", **place, delta=rest)
        yield self._event("response.function_call_arguments.done", **place, arguments=call.arguments)
        yield self._event("response.output_item.done", output_index=index, item=call.model_dump(mode="json"))

    def _response(self) -> ResponseObject:
        record = self.store.get(self.task_id)
        assert record is not None  # a response being streamed was written just before
        return ResponseObject.of(record)

    def _place(self) -> dict[str, Any]:
        return {"item_id": self.item_id, "output_index": 0, "content_index": 0}

    def _event(self, kind: str, **fields: Any) -> str:
        data = {"type": kind, "sequence_number": next(self.numbers)}
        for name, value in fields.items():
            data[name] = value.model_dump(mode="json") if isinstance(value, ResponseObject) else value
        return f"event: {kind}\ndata: {json.dumps(data)}\n\n"


def _part(text: str) -> dict[str, Any]:
    return OutputText(text=text).model_dump(mode="json")
