"""A batch input file's form is checked at upload, every bad line named."""

from __future__ import annotations

import io
import json

import pytest

from api.batches.input_lines import MAX_LINES_NAMED, checked_upload
from api.http.errors import ApiError
from api.settings import ApiSettings

SETTINGS = ApiSettings(api_keys="k", batch_max_lines=5, _env_file=None)  # type: ignore[call-arg]


def line(custom_id: object = "a", **changes: object) -> str:
    request = {"custom_id": custom_id, "method": "POST", "url": "/v1/completions", "body": {"prompt": "p"}}
    return json.dumps({**request, **changes})


def upload(content: bytes, settings: ApiSettings = SETTINGS) -> bytes:
    return bytes(checked_upload(io.BytesIO(content), settings))


def refusal(text: str, settings: ApiSettings = SETTINGS) -> str:
    with pytest.raises(ApiError) as refused:
        upload(text.encode(), settings)
    assert refused.value.status_code == 400 and refused.value.details["field"] == "file"
    return refused.value.message


def test_blank_lines_are_skipped_and_numbers_are_the_files_own() -> None:
    text = "\n".join([line("a"), "", line("b"), "   ", line("a")]) + "\n"
    assert "line 5: custom_id 'a' appears more than once" in refusal(text)
    kept = f"{line('a')}\n\n{line('b')}\n".encode()
    assert upload(kept) == kept  # stored as sent, blank lines included


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ("[1, 2]", "not a JSON object"),
        ("{oops", "not JSON"),
        (line(custom_id=""), "custom_id: a non-empty string is required"),
        (line(custom_id=7), "custom_id: a non-empty string is required"),
        (line(method="GET"), "method: must be POST"),
        (line(url="/v1/embeddings"), "url: must be one of"),
        (line(body="text"), "body: a JSON object is required"),
    ],
)
def test_each_malformed_line_is_named_with_its_reason(bad: str, why: str) -> None:
    assert f"line 2: {why}" in refusal(f"{line('first')}\n{bad}\n")


def test_too_many_lines_empty_files_and_other_encodings_are_refused() -> None:
    assert "more than BATCH_MAX_LINES (5) requests" in refusal("\n".join(line(f"id-{i}") for i in range(6)))
    assert "no requests" in refusal("\n\n")
    with pytest.raises(ApiError, match="line 2 is not UTF-8"):
        upload(line("a").encode() + b"\n\xff\xfe")


def test_many_bad_lines_are_counted_and_the_first_ones_named() -> None:
    settings = ApiSettings(api_keys="k", _env_file=None)  # type: ignore[call-arg]
    message = refusal("\n".join("{" for _ in range(MAX_LINES_NAMED + 5)), settings)
    assert f"{MAX_LINES_NAMED + 5} bad line(s)" in message and "and 5 more" in message
    assert f"line {MAX_LINES_NAMED}:" in message and f"line {MAX_LINES_NAMED + 1}:" not in message


def test_a_file_past_its_byte_bound_is_refused_while_it_is_read() -> None:
    settings = ApiSettings(api_keys="k", batch_max_file_bytes=1024, _env_file=None)  # type: ignore[call-arg]
    lines = io.BytesIO(b"".join(f"{line(f'id-{i}')}\n".encode() for i in range(100)))
    with pytest.raises(ApiError) as refused:
        checked_upload(lines, settings)
    assert refused.value.status_code == 413 and "BATCH_MAX_FILE_BYTES (1024" in refused.value.message
    assert lines.tell() < 2048  # stopped about the bound, not after reading the whole file
