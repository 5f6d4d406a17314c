"""The /v1 and Batch API bodies, built by their pydantic models, are byte for byte what the routes sent when
they were written as dicts (key order and explicit nulls included), and each one conforms to the schema
/openapi.json shows for it, with no key the schema does not name."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from pydantic import BaseModel

from api.app import create_app
from api.batches.files import StoredFile
from api.batches.shapes import BatchError, BatchErrors, BatchList, DeletedFile
from api.batches.store import Batch
from api.docs.openapi import build_spec
from api.http.bodies import respond
from api.http.errors import ErrorBody, openai_error
from api.openai.routes import chunks
from api.openai.serving import Choice, Reply, Shape
from api.openai.shapes import Model, ModelList, Usage
from api.openai.tools import ToolMode
from api.settings import ApiSettings
from contract.error_kinds import ErrorKind
from contract.task_params import TaskParams

from ..support.documented import conforms

OFF = ToolMode("off")
PARAMS = TaskParams(max_tokens=5, temperature=0, top_p=1, prompt="p")
METRICS = {"finish_reason": "length", "prompt_tokens": 2, "completion_tokens": 3}
ENTRY = {"id": 1, "token": "a", "bytes": [97], "logprob": -0.5, "top": [{"token": "b", "bytes": [98], "logprob": -1.5}]}
FINAL = {"status": "completed", "result": "a", "metrics": METRICS, "logprobs": {"tokens": [ENTRY]}}
USAGE = {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5}
NO_USAGE = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
CHAT_LOGPROBS = {
    "content": [
        {"token": "a", "logprob": -0.5, "bytes": [97], "top_logprobs": [{"token": "b", "logprob": -1.5, "bytes": [98]}]}
    ]
}
COMPLETION_LOGPROBS = {
    "tokens": ["a"],
    "token_logprobs": [-0.5],
    "top_logprobs": [{"b": -1.5, "a": -0.5}],
    "text_offset": [0],
}
BATCH_FIELDS = {
    "endpoint": "/v1/completions",
    "input_file_id": "file-1",
    "completion_window": "24h",
    "status": "in_progress",
    "created_at": "100",
    "expires_at": "200",
    "in_progress_at": "101",
    "total": "3",
    "completed": "1",
    "metadata": '{"a": "b"}',
    "owner": "k",
}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    return create_app(ApiSettings(api_keys="k", log_dir=tmp_path_factory.mktemp("logs"), _env_file=None))  # type: ignore[call-arg]


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return build_spec(ApiSettings(api_keys="k", log_dir=tmp_path_factory.mktemp("logs"), _env_file=None))  # type: ignore[call-arg]


def sent(app: Flask, model: BaseModel, nulls: bool = True) -> Any:
    """The body a route answers with (the app's own JSON settings), read back keeping its key order."""
    with app.test_request_context("/v1/models"):
        return json.loads(respond(model, nulls=nulls).get_data())


def same(found: Any, expected: Any) -> None:
    """Equal, and with the keys in the same order at every level."""
    assert json.dumps(found) == json.dumps(expected)


def reply(chat: bool, logprobs: bool = False, tools: ToolMode = OFF) -> Reply:
    return Reply("t", "m", Shape(chat=chat, logprobs=logprobs, tools=tools), [Choice(0, PARAMS)])


def head(body: dict[str, Any], kind: str, prefix: str) -> dict[str, Any]:
    return {"id": f"{prefix}-t", "created": body["created"], "model": "m", "object": kind}


def test_chat_completion(app: Flask, spec: dict[str, Any]) -> None:
    body = sent(app, reply(chat=True, logprobs=True).whole([FINAL]))
    message = {"role": "assistant", "content": "a"}
    choice = {"index": 0, "message": message, "logprobs": CHAT_LOGPROBS, "finish_reason": "length"}
    same(body, {**head(body, "chat.completion", "chatcmpl"), "choices": [choice], "usage": USAGE})
    conforms(spec, "ChatCompletion", body)


def test_chat_completion_with_a_tool_call(app: Flask, spec: dict[str, Any]) -> None:
    final = {**FINAL, "result": '{"x": 1}'}
    body = sent(app, reply(chat=True, tools=ToolMode("named", "f")).whole([final]))
    call_id = body["choices"][0]["message"]["tool_calls"][0]["id"]
    call = {"id": call_id, "type": "function", "function": {"name": "f", "arguments": '{"x": 1}'}}
    message = {"role": "assistant", "content": None, "tool_calls": [call]}
    choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": "tool_calls"}
    same(body, {**head(body, "chat.completion", "chatcmpl"), "choices": [choice], "usage": USAGE})
    conforms(spec, "ChatCompletion", body)


@pytest.mark.parametrize("logprobs", [False, True])
def test_completion(app: Flask, spec: dict[str, Any], logprobs: bool) -> None:
    body = sent(app, reply(chat=False, logprobs=logprobs).whole([FINAL]))
    found = COMPLETION_LOGPROBS if logprobs else None
    choice = {"index": 0, "text": "a", "logprobs": found, "finish_reason": "length"}
    same(body, {**head(body, "text_completion", "cmpl"), "choices": [choice], "usage": USAGE})
    conforms(spec, "Completion", body)


def streamed(chat: bool, every_chunk: bool, events: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    frames = list(chunks([(0, event) for event in events], reply(chat=chat), True, every_chunk))
    assert frames[-1] == "data: [DONE]\n\n"
    return (json.loads(frame.removeprefix("data: ")) for frame in frames[:-1])


@pytest.mark.parametrize("every_chunk", [False, True])
def test_chat_chunks(spec: dict[str, Any], every_chunk: bool) -> None:
    found = list(streamed(True, every_chunk, [{"status": "processing", "delta": "a"}, FINAL]))
    top = head(found[0], "chat.completion.chunk", "chatcmpl")
    deltas = [{"role": "assistant", "content": ""}, {"content": "a"}, {}]
    finishes = [None, None, "length"]
    expected = [
        {**top, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
        for delta, finish in zip(deltas, finishes, strict=True)
    ]
    if every_chunk:
        expected = [
            {**chunk, "usage": usage} for chunk, usage in zip(expected, [NO_USAGE, NO_USAGE, USAGE], strict=True)
        ]
    expected.append({**top, "choices": [], "usage": USAGE})
    same(found, expected)
    for chunk in found:
        conforms(spec, "ChatCompletionChunk", chunk)


def test_completion_chunks(spec: dict[str, Any]) -> None:
    found = list(streamed(False, False, [{"status": "processing", "delta": "a"}, FINAL]))
    top = head(found[0], "text_completion", "cmpl")
    expected = [
        {**top, "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": finish}]}
        for text, finish in (("", None), ("a", None), ("", "length"))
    ]
    same(found, [*expected, {**top, "choices": [], "usage": USAGE}])
    for chunk in found:
        conforms(spec, "CompletionChunk", chunk)


def test_a_failure_in_a_stream_is_openais_error_body(spec: dict[str, Any]) -> None:
    failed = {"status": "failed", "error_type": ErrorKind.CONTEXT_LENGTH, "error_message": "too long"}
    last = list(streamed(False, False, [failed]))[-1]
    error = {"message": "too long", "type": "invalid_request_error", "param": "max_tokens"}
    same(last, {"error": {**error, "code": "context_length_exceeded"}})
    conforms(spec, "OpenAIErrorBody", last)


def test_error_bodies(app: Flask, spec: dict[str, Any]) -> None:
    openai = sent(app, openai_error(404, "no such model", {"field": "model", "code": "model_not_found"}))
    expected = {"message": "no such model", "type": "not_found_error", "param": "model", "code": "model_not_found"}
    same(openai, {"error": expected})
    unnamed = sent(app, openai_error(401, "no key", {}))
    same(unnamed, {"error": {"message": "no key", "type": "authentication_error", "param": None, "code": None}})
    ours = sent(app, ErrorBody(error="Task not found", status_code=404), nulls=False)
    same(ours, {"error": "Task not found", "status_code": 404})
    for name, body in (("OpenAIErrorBody", openai), ("OpenAIErrorBody", unnamed), ("ErrorBody", ours)):
        conforms(spec, name, body)


def test_models(app: Flask, spec: dict[str, Any]) -> None:
    model = {"id": "org/m", "object": "model", "created": 0, "owned_by": "llm-service"}
    same(sent(app, Model(id="org/m")), model)
    same(sent(app, ModelList(data=[Model(id="org/m")])), {"object": "list", "data": [model]})
    conforms(spec, "Model", model)
    conforms(spec, "ModelList", {"object": "list", "data": [model]})


def test_files(app: Flask, spec: dict[str, Any]) -> None:
    stored = StoredFile("file-1", "k", "in.jsonl", "batch", 12, 100, 200)
    body = sent(app, stored.as_openai())
    file = {"id": "file-1", "object": "file", "bytes": 12, "created_at": 100, "expires_at": 200}
    rest = {"filename": "in.jsonl", "purpose": "batch", "status": "processed", "status_details": None}
    same(body, {**file, **rest})
    conforms(spec, "FileObject", body)
    deleted = sent(app, DeletedFile(id="file-1"))
    same(deleted, {"id": "file-1", "object": "file", "deleted": True})
    conforms(spec, "DeletedFile", deleted)


def batch_body(batch_id: str, errors: Any, status: str, **stamps: int | None) -> dict[str, Any]:
    times = ("in_progress_at", "finalizing_at", "completed_at", "failed_at", "expired_at", "cancelling_at")
    return {
        "id": batch_id,
        "object": "batch",
        "endpoint": "/v1/completions",
        "errors": errors,
        "input_file_id": "file-1",
        "completion_window": "24h",
        "status": status,
        "output_file_id": None,
        "error_file_id": None,
        "created_at": 100,
        "expires_at": 200,
        **{name: stamps.get(name) for name in (*times, "cancelled_at")},
        "request_counts": {"total": 3, "completed": 1, "failed": 0},
        "metadata": {"a": "b"},
    }


def test_batches(app: Flask, spec: dict[str, Any]) -> None:
    running = Batch("batch_1", BATCH_FIELDS).as_openai()
    why = BatchErrors(data=[BatchError(code="queueing_failed", message="redis", line=2)]).model_dump_json()
    failed = Batch("batch_2", {**BATCH_FIELDS, "status": "failed", "failed_at": "102", "errors": why}).as_openai()
    old_style = json.dumps({"object": "list", "data": [{"code": "creation_interrupted", "message": "stopped"}]})
    interrupted = Batch("batch_3", {**BATCH_FIELDS, "status": "failed", "errors": old_style}).as_openai()
    same(sent(app, running), batch_body("batch_1", None, "in_progress", in_progress_at=101))
    errors = {"object": "list", "data": [{"code": "queueing_failed", "message": "redis", "line": 2}]}
    same(sent(app, failed), batch_body("batch_2", errors, "failed", in_progress_at=101, failed_at=102))
    same(sent(app, interrupted)["errors"], json.loads(old_style))
    listed = sent(app, BatchList(data=[running, failed], first_id="batch_1", last_id="batch_2", has_more=False))
    same(list(listed), ["object", "data", "first_id", "last_id", "has_more"])
    same(sent(app, BatchList(data=[], first_id=None, last_id=None, has_more=False))["first_id"], None)
    for name, body in (("BatchObject", sent(app, running)), ("BatchObject", sent(app, failed)), ("BatchList", listed)):
        conforms(spec, name, body)


def test_usage_counts_its_total() -> None:
    same(Usage.of(2, 3).model_dump(), USAGE)
