"""A batch input file, checked line by line before anything runs: each line `{"custom_id", "method", "url",
"body"}`, its body a request that /v1/completions or /v1/chat/completions would take. A bad file is refused
once, naming every bad line (up to MAX_LINES_NAMED) and why."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from contract.model_registry import RegisteredModel

from ..http.errors import ApiError
from ..openai.planning import SCHEMAS, choices_of, parse, shape_of
from ..openai.serving import Choice, Shape
from ..settings import ApiSettings

MAX_LINES_NAMED = 20
YIELD_EVERY = 200
ENDPOINTS = tuple(SCHEMAS)


@dataclass(frozen=True)
class PlannedLine:
    number: int
    """1-based, as an editor shows it"""
    custom_id: str
    model: str
    shape: Shape
    choice: Choice


class BadLines(Exception):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[int, str]] = []

    def add(self, number: int, why: str) -> None:
        self.found.append((number, why))

    def raise_if_any(self, field: str) -> None:
        if not self.found:
            return
        named = "; ".join(f"line {number}: {why}" for number, why in self.found[:MAX_LINES_NAMED])
        more = len(self.found) - MAX_LINES_NAMED
        lines = [{"line": number, "message": why} for number, why in self.found[:MAX_LINES_NAMED]]
        message = f"Invalid {field}: {len(self.found)} bad line(s): {named}" + (
            f"; and {more} more" if more > 0 else ""
        )
        raise ApiError(400, message, field=field, lines=lines)


def requests_in(content: str) -> list[tuple[int, str]]:
    """(line number, text) of every non-blank line."""
    # "\n" only: splitlines() would also split at U+2028 and U+0085, which JSON strings may hold as is
    return [(number, text) for number, text in enumerate(content.split("\n"), start=1) if text.strip()]


def checked_upload(stream: IO[bytes], settings: ApiSettings) -> memoryview:
    """The file's bytes when every line has a batch request's form; ApiError otherwise (413 past
    BATCH_MAX_FILE_BYTES). Read and checked a line at a time, so a process holds the file once, as it will be
    stored, rather than its bytes, its text and its lines together."""
    content, bad, seen, requests = bytearray(), BadLines(), set[str](), 0
    limit, most_lines = settings.batch_max_file_bytes, settings.batch_max_lines
    # Split at b"\n" only, as requests_in does: UTF-8 never puts that byte inside a character
    for number, raw in enumerate(stream, start=1):
        content += raw
        if len(content) > limit:
            raise ApiError(413, f"Invalid file: larger than BATCH_MAX_FILE_BYTES ({limit} bytes)", field="file")
        if number % YIELD_EVERY == 0:
            time.sleep(0)  # under gevent, lets the process's other requests and streams run meanwhile
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(400, f"Invalid file: line {number} is not UTF-8 text", field="file") from None
        if not line.strip():
            continue
        requests += 1
        if requests > most_lines:
            raise ApiError(400, f"Invalid file: more than BATCH_MAX_LINES ({most_lines}) requests", field="file")
        why = _form_problem(line, seen)
        if why:
            bad.add(number, why)
    if not requests:
        raise ApiError(400, "Invalid file: no requests in it", field="file")
    bad.raise_if_any("file")
    return memoryview(content)


def _form_problem(line: str, seen: set[str]) -> str | None:
    try:
        request = json.loads(line)
    except ValueError as error:
        return f"not JSON ({error})"
    except RecursionError:
        return "not JSON (nested too deeply)"
    if not isinstance(request, dict):
        return "not a JSON object"
    custom_id = request.get("custom_id")
    if not isinstance(custom_id, str) or not custom_id:
        return "custom_id: a non-empty string is required"
    if custom_id in seen:
        return f"custom_id {custom_id!r} appears more than once"
    seen.add(custom_id)
    if request.get("method") != "POST":
        return "method: must be POST"
    if request.get("url") not in ENDPOINTS:
        return f"url: must be one of {list(ENDPOINTS)}"
    if not isinstance(request.get("body"), dict):
        return "body: a JSON object is required"
    return None


Resolver = Callable[[str | None], tuple[str, RegisteredModel | None]]


def plan(content: str, endpoint: str, settings: ApiSettings, resolve: Resolver) -> list[PlannedLine]:
    """Every line as the task it will run; ApiError naming each line that could not run on `endpoint`."""
    bad, planned = BadLines(), []
    for number, line in requests_in(content):
        if number % YIELD_EVERY == 0:
            time.sleep(0)  # under gevent, lets the process's other requests and streams run meanwhile
        request = json.loads(line)  # the upload checked the form
        try:
            planned.append(_plan_line(number, request, endpoint, settings, resolve))
        except ApiError as error:
            bad.add(number, error.message)
    bad.raise_if_any("input_file_id")
    return planned


def _plan_line(
    number: int, request: dict[str, Any], endpoint: str, settings: ApiSettings, resolve: Resolver
) -> PlannedLine:
    if request["url"] != endpoint:
        raise ApiError(400, f"url {request['url']!r} differs from the batch's endpoint {endpoint!r}")
    if request["body"].get("stream"):
        raise ApiError(400, "Invalid stream: a batch line is answered in the output file, not streamed")
    parsed = parse(SCHEMAS[endpoint], request["body"], settings.max_tokens_limit)
    model, registered = resolve(parsed.model)
    shape = shape_of(parsed)
    choices = choices_of(parsed, shape, settings, registered)
    if len(choices) != 1:
        raise ApiError(400, "Invalid n: a batch line asks for one choice (n=1, one prompt)")
    return PlannedLine(number, request["custom_id"], model, shape, choices[0])
