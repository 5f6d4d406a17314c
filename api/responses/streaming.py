"""A response streamed as OpenAI's Responses events: `response.created`, `response.in_progress`, the output
message and its text part added, `response.output_text.delta` as text is generated, the text, part and
message done, then `response.completed` (or `response.incomplete`, `response.failed`; `response.cancelled`,
which OpenAI does not stream, for a response cancelled meanwhile). Each is an SSE event named by its type,
its data carrying a `sequence_number`.

A worker lost mid-response starts the text over; the deltas already sent are not sent twice (the text part
is then closed with the whole text, which the final events carry anyway)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import count
from typing import Any

from contract.statuses import TaskStatus
from contract.task_store import TaskStore

from ..tasks.events import CLIENT_GONE, Gathering
from .shapes import OutputMessage, OutputText, ResponseObject

FINAL_TYPES = {
    "completed": "response.completed",
    "incomplete": "response.incomplete",
    "failed": "response.failed",
    "cancelled": "response.cancelled",
}


class ResponseEvents:
    def __init__(self, store: TaskStore, task_id: str, background: bool) -> None:
        self.store, self.task_id, self.background = store, task_id, background
        self.numbers = count()
        self.item_id = f"msg_{task_id}"
        self.opened = False
        self.sent = 0
        """characters of text sent as deltas (kept across a restart, so none is sent twice)"""
        self.generated = 0

    def stream(self, gathering: Gathering) -> Iterator[str]:
        try:
            yield self._event("response.created", response=self._response())
            for item in gathering:
                if item is None:
                    yield ": keep-alive\n\n"
                    continue
                yield from self._feed(item[1])
            yield from self._end()
        finally:
            if gathering.ended_by in (CLIENT_GONE, None) and not self.background:
                self.store.request_cancel(self.task_id)  # nobody is left to read it

    def _feed(self, event: dict[str, Any]) -> Iterator[str]:
        if event["status"] != TaskStatus.PROCESSING.value:
            return
        if not self.opened:
            yield from self._open()
        if event.get("restarted"):
            self.generated = 0
        delta = event.get("delta")
        if delta:
            self.generated += len(delta)
            fresh = delta[max(0, self.sent - (self.generated - len(delta))) :]
            if fresh:
                self.sent += len(fresh)
                yield self._event("response.output_text.delta", **self._place(), delta=fresh, logprobs=[])

    def _open(self) -> Iterator[str]:
        self.opened = True
        yield self._event("response.in_progress", response=self._response())
        message = OutputMessage(id=self.item_id, status="incomplete", content=[])
        yield self._event("response.output_item.added", output_index=0, item=message.model_dump(mode="json"))
        yield self._event("response.content_part.added", **self._place(), part=_part(""))

    def _end(self) -> Iterator[str]:
        response = self._response()
        if response.output:
            if not self.opened:
                yield from self._open()
            text = response.output[0].content[0].text
            yield self._event("response.output_text.done", **self._place(), text=text, logprobs=[])
            yield self._event("response.content_part.done", **self._place(), part=_part(text))
            yield self._event(
                "response.output_item.done", output_index=0, item=response.output[0].model_dump(mode="json")
            )
        yield self._event(FINAL_TYPES.get(response.status, "response.failed"), response=response)

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
