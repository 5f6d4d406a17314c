"""OpenAI's Batch API through the official `openai` client, against a real api, worker and Redis: files
in, batches run on the offline lane, files out."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
import redis

from contract import events
from contract.names import DRAMATIQ_NAMESPACE, offline_queue_name

from ..support.batches import MODEL, chat_line, finished, jsonl, upload
from ..support.stack import API_KEY, OTHER_KEY, Api, Process, RedisServer, Started, start_api, start_worker, wait_until

MAX_FILE_BYTES = 512 * 1024
MAX_OPEN = 3


@pytest.fixture(scope="module")
def stack(
    workdir: Path, redis_server: RedisServer, model_settings: dict[str, object]
) -> Iterator[tuple[Api, Process, str]]:
    url = redis_server.url(db=14)
    redis.Redis.from_url(url).flushdb()
    # Rate limits raised: the module's tests share two keys, and its files and batches come quicker than 10 in
    # 10 s (the management budget's own tests are in test_rate_limit.py)
    batch = {"batch_max_file_bytes": MAX_FILE_BYTES, "batch_max_open": MAX_OPEN, "rate_limit_burst": 1000}
    api = start_api(workdir, url, api_keys=f"{API_KEY},{OTHER_KEY}", **batch, **model_settings)
    worker = start_worker(workdir, url, offline_slots=16, **model_settings)
    yield api, worker, url
    worker.stop()
    api.stop()


@pytest.fixture(scope="module")
def client(stack: tuple[Api, Process, str]) -> openai.OpenAI:
    return openai.OpenAI(base_url=stack[0].url("/v1"), api_key=API_KEY, max_retries=0, timeout=60)


def test_a_thousand_line_batch_answers_every_custom_id_once(client: openai.OpenAI) -> None:
    # Given a file of 1,000 chat requests, three of which the worker refuses (a token id out of the vocabulary)
    lines = [chat_line(f"req-{index}", f"question {index}") for index in range(1000)]
    for index in (10, 500, 999):
        lines[index] = chat_line(f"req-{index}", "refused", logit_bias={"99999999": 5})
    file_id = upload(client, lines)
    assert client.files.retrieve(file_id).purpose == "batch"
    # When a batch runs it
    batch = client.batches.create(input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h")
    assert batch.status == "in_progress" and batch.request_counts.total == 1000
    done = finished(client, batch.id, 600)
    # Then it completes, every custom_id answered exactly once, in the output or the error file
    assert done.status == "completed"
    assert (done.request_counts.completed, done.request_counts.failed) == (997, 3)
    output, errors = jsonl(client, done.output_file_id), jsonl(client, done.error_file_id)
    assert sorted(line["custom_id"] for line in output + errors) == sorted(f"req-{index}" for index in range(1000))
    answer = output[0]["response"]
    assert answer["status_code"] == 200 and answer["body"]["object"] == "chat.completion"
    assert answer["body"]["usage"]["completion_tokens"] == 3
    assert {line["custom_id"] for line in errors} == {"req-10", "req-500", "req-999"}
    assert all(line["response"]["status_code"] == 400 for line in errors)
    assert errors[0]["response"]["body"]["error"]["param"] == "logit_bias"
    assert done.completed_at and done.finalizing_at and done.in_progress_at


def test_completions_lines_answer_as_the_route_does(client: openai.OpenAI, stack: tuple[Api, Process, str]) -> None:
    body = {"model": MODEL, "prompt": "the same prompt", "max_tokens": 6, "temperature": 0}
    line = {"custom_id": "only", "method": "POST", "url": "/v1/completions", "body": body}
    batch = client.batches.create(
        input_file_id=upload(client, [line]), endpoint="/v1/completions", completion_window="24h"
    )
    done = finished(client, batch.id, 120)
    [answer] = jsonl(client, done.output_file_id)
    direct = client.completions.create(**body)
    assert answer["response"]["body"]["choices"][0]["text"] == direct.choices[0].text
    assert answer["response"]["body"]["object"] == "text_completion"
    # a line's text is written once, with its final event, not as stream deltas nobody reads
    found = events.read_after(
        redis.Redis.from_url(stack[2], decode_responses=True), answer["response"]["request_id"], "0"
    )
    assert [event["status"] for _, event in found] == ["queued", "processing", "completed"]


def test_cancel_mid_way_ends_cancelled_with_what_was_answered(
    client: openai.OpenAI, stack: tuple[Api, Process, str]
) -> None:
    # Given a batch of long requests, some answered already
    lines = [chat_line(f"c-{index}", f"long {index}", max_tokens=200) for index in range(200)]
    batch = client.batches.create(
        input_file_id=upload(client, lines), endpoint="/v1/chat/completions", completion_window="24h"
    )
    wait_until(lambda: client.batches.retrieve(batch.id).request_counts.completed >= 1, 120, "a first answer")
    # When it is cancelled
    assert client.batches.cancel(batch.id).status == "cancelling"
    done = finished(client, batch.id, 60)
    # Then it ends cancelled, every line accounted for, the unanswered ones as batch_cancelled errors
    assert done.status == "cancelled" and done.cancelled_at
    counts = done.request_counts
    assert counts.completed >= 1 and counts.completed + counts.failed == 200
    output, errors = jsonl(client, done.output_file_id), jsonl(client, done.error_file_id)
    assert len(output) == counts.completed and len(errors) == counts.failed
    assert {line["error"]["code"] for line in errors} == {"batch_cancelled"}
    # and the worker drops the cancelled lines: the offline queue drains without running them
    client_redis = redis.Redis.from_url(stack[2])
    wait_until(
        lambda: client_redis.llen(f"{DRAMATIQ_NAMESPACE}:{offline_queue_name(MODEL)}") == 0, 60, "the lane to drain"
    )
    # and a final batch cannot be cancelled again
    with pytest.raises(openai.ConflictError):
        client.batches.cancel(batch.id)


def test_a_bad_line_is_refused_naming_its_line_numbers(client: openai.OpenAI) -> None:
    lines = [
        chat_line("a", "fine"),
        chat_line("b", "fine", temperature=9),
        chat_line("c", "fine"),
        chat_line("d", "x", n=2),
    ]
    file_id = upload(client, lines)
    with pytest.raises(openai.BadRequestError) as refused:
        client.batches.create(input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h")
    message = refused.value.body["message"]  # type: ignore[index]
    assert "line 2: Invalid temperature" in message and "line 4: Invalid n" in message and "line 1" not in message
    # the wrong endpoint names every line
    with pytest.raises(openai.BadRequestError) as wrong:
        client.batches.create(input_file_id=file_id, endpoint="/v1/completions", completion_window="24h")
    assert "4 bad line(s)" in wrong.value.body["message"]  # type: ignore[index]
    # a file that is not JSON lines is refused at upload, naming the line
    with pytest.raises(openai.BadRequestError) as upload_refused:
        upload(client, json.dumps(chat_line("x", "y")) + "\n{not json\n")
    assert "line 2: not JSON" in upload_refused.value.body["message"]  # type: ignore[index]
    # and nothing was created
    assert all(batch.input_file_id != file_id for batch in client.batches.list())


def test_an_oversized_file_is_refused(client: openai.OpenAI) -> None:
    line = json.dumps(chat_line("big", "x" * 1000)) + "\n"
    with pytest.raises(openai.APIStatusError) as refused:
        upload(client, line * (MAX_FILE_BYTES // len(line) + 1))
    assert refused.value.status_code == 413 and "BATCH_MAX_FILE_BYTES" in refused.value.message


def test_another_keys_batch_and_files_are_not_found(client: openai.OpenAI, stack: tuple[Api, Process, str]) -> None:
    file_id = upload(client, [chat_line("mine", "hello")])
    batch = client.batches.create(input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h")
    other = openai.OpenAI(base_url=stack[0].url("/v1"), api_key=OTHER_KEY, max_retries=0, timeout=60)
    for call in (
        lambda: other.batches.retrieve(batch.id),
        lambda: other.batches.cancel(batch.id),
        lambda: other.files.retrieve(file_id),
        lambda: other.files.content(file_id),
        lambda: other.files.delete(file_id),
        lambda: other.batches.create(input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h"),
    ):
        with pytest.raises(openai.NotFoundError):
            call()
    assert batch.id not in [found.id for found in other.batches.list()]
    assert batch.id in [found.id for found in client.batches.list()]
    finished(client, batch.id, 60)
    assert client.files.delete(file_id).deleted
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(file_id)


def test_a_batch_past_its_window_expires_and_open_batches_are_bounded(
    started: Started, redis_server: RedisServer, model_settings: dict[str, object]
) -> None:
    # Given an api whose batches expire after 3 s, one open batch per key, and no worker to run them
    url = redis_server.url(db=8)
    redis.Redis.from_url(url).flushdb()
    api = started.api(url, api_keys=API_KEY, batch_expiry_seconds=3, batch_max_open=1, **model_settings)
    client = openai.OpenAI(base_url=api.url("/v1"), api_key=API_KEY, max_retries=0, timeout=60)
    file_id = upload(client, [chat_line(f"e-{index}", "never run") for index in range(3)])
    batch = client.batches.create(input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h")
    # a second open batch is refused
    with pytest.raises(openai.RateLimitError) as refused:
        client.batches.create(input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h")
    assert "BATCH_MAX_OPEN" in refused.value.message
    # When its window passes, it expires, every line in the error file as batch_expired
    done = finished(client, batch.id, 30)
    assert done.status == "expired" and done.expired_at and done.output_file_id is None
    assert (done.request_counts.completed, done.request_counts.failed) == (0, 3)
    errors = jsonl(client, done.error_file_id)
    assert [(line["custom_id"], line["error"]["code"]) for line in errors] == [
        (f"e-{i}", "batch_expired") for i in range(3)
    ]
    # and the key may open another
    client.batches.create(input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h")


def test_a_keys_stored_bytes_are_bounded_and_deleting_frees_them(
    started: Started, redis_server: RedisServer, model_settings: dict[str, object]
) -> None:
    url = redis_server.url(db=8)
    redis.Redis.from_url(url).flushdb()
    api = started.api(url, api_keys=f"{API_KEY},{OTHER_KEY}", batch_max_stored_bytes=4096, **model_settings)
    client = openai.OpenAI(base_url=api.url("/v1"), api_key=API_KEY, max_retries=0, timeout=60)
    lines = [chat_line(f"s-{index}", "x" * 100) for index in range(12)]  # about 2,300 bytes
    first = upload(client, lines)
    with pytest.raises(openai.RateLimitError) as refused:
        upload(client, lines)
    assert "BATCH_MAX_STORED_BYTES" in refused.value.message
    # another key has its own room
    other = openai.OpenAI(base_url=api.url("/v1"), api_key=OTHER_KEY, max_retries=0, timeout=60)
    upload(other, lines)
    # and deleting a file makes room again
    client.files.delete(first)
    upload(client, lines)


def test_files_list_pages_through_a_keys_files_as_the_openai_client_reads_them(
    stack: tuple[Api, Process, str],
) -> None:
    # Given a key of its own with three uploaded files and a batch's output file
    url = stack[0].url("/v1")
    mine = openai.OpenAI(base_url=url, api_key=OTHER_KEY, max_retries=0, timeout=60)
    for stored in mine.files.list():
        mine.files.delete(stored.id)
    uploaded = [upload(mine, [chat_line(f"f{index}", "hello")]) for index in range(3)]
    batch = mine.batches.create(input_file_id=uploaded[0], endpoint="/v1/chat/completions", completion_window="24h")
    output = finished(mine, batch.id, 60).output_file_id
    # When it lists them, newest first, two a page (the client follows `after` by itself)
    listed = [stored.id for stored in mine.files.list(limit=2)]
    # Then it sees each once, its own only
    assert listed == [output, *reversed(uploaded)]
    assert [stored.id for stored in mine.files.list(order="asc")] == [*uploaded, output]
    assert [stored.id for stored in mine.files.list(purpose="batch_output")] == [output]
    page = mine.files.list(limit=1, order="asc", after=uploaded[0])
    assert [stored.id for stored in page.data] == [uploaded[1]] and page.has_more
    assert not set(listed) & {stored.id for stored in openai.OpenAI(base_url=url, api_key=API_KEY).files.list()}
    # and a bad query is 400 naming the parameter
    with pytest.raises(openai.BadRequestError) as refused:
        mine.files.list(order="sideways")  # type: ignore[arg-type]
    assert refused.value.body["param"] == "order"  # type: ignore[index]
