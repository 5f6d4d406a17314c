"""A finished batch's two files, as OpenAI writes them: one line per request, in input order, each with its
custom_id. Answered requests go to the output file with the body the route itself would have sent; failed
ones, and those the batch closed before they ran (cancelled, expired), go to the error file."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from typing import Any

from contract.error_kinds import ErrorKind
from contract.task_params import TaskParams

from ..http.errors import openai_error
from ..openai.serving import Choice, Reply, Shape, failure
from ..openai.tools import ToolMode
from .input_lines import YIELD_EVERY

# Error types a batch gives the lines it closed itself (OpenAI's codes), with their messages.
CLOSED = {
    ErrorKind.BATCH_EXPIRED: "This request could not be executed before the completion window expired.",
    ErrorKind.BATCH_CANCELLED: "This request was not executed: the batch was cancelled.",
}


def line_plan(custom_id: str, task_id: str, model: str, shape: Shape, choice: Choice) -> dict[str, Any]:
    """What a line's answer needs, kept with the batch (the task record may expire before the batch ends)."""
    return {
        "custom_id": custom_id,
        "task_id": task_id,
        "model": model,
        "shape": {"chat": shape.chat, "logprobs": shape.logprobs, "tools": asdict(shape.tools)},
        "echo": choice.echo,
        "params": choice.params.model_dump(mode="json", exclude_defaults=True),
    }


def render(lines: list[dict[str, Any]], results: dict[int, dict[str, Any]]) -> tuple[str, str]:
    """(output file, error file) contents; a line without a result is not in either."""
    output, errors = [], []
    for index, line in enumerate(lines):
        if index % YIELD_EVERY == 0:
            time.sleep(0)  # under gevent, lets the process's requests and streams run between lines
        event = results.get(index)
        if event is None:
            continue
        if event["status"] == "completed":
            output.append(_answered(line, event))
        else:
            errors.append(_failed(line, event))
    return _jsonl(output), _jsonl(errors)


def _answered(line: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    shape = Shape(line["shape"]["chat"], line["shape"]["logprobs"], ToolMode(**line["shape"]["tools"]))
    choice = Choice(0, TaskParams.model_validate(line["params"]), echo=line["echo"])
    body = Reply(line["task_id"], line["model"], shape, [choice]).whole([event]).body()
    response = {"status_code": 200, "request_id": line["task_id"], "body": body}
    return {"id": f"batch_req_{line['task_id']}", "custom_id": line["custom_id"], "response": response, "error": None}


def _failed(line: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    head = {"id": f"batch_req_{line['task_id']}", "custom_id": line["custom_id"]}
    kind = event.get("error_type")
    if kind in CLOSED:
        return {**head, "response": None, "error": {"code": kind, "message": CLOSED[kind]}}
    error = failure(event)
    body = openai_error(error.status_code, error.message, error.details).model_dump(mode="json")
    return {
        **head,
        "response": {"status_code": error.status_code, "request_id": line["task_id"], "body": body},
        "error": None,
    }


def _jsonl(items: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(item) + "\n" for item in items)
