"""client_example.LLMClient against the running service, including every error it maps."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from client_example import (
    AuthenticationError,
    InvalidRequestError,
    LLMClient,
    TaskCancelledError,
    TaskFailedError,
    TaskNotFoundError,
)

from ..support.stack import API_KEY, ROOT, Api


@pytest.fixture
def client(api: Api) -> LLMClient:
    return LLMClient(base_url=api.base_url, api_key=API_KEY)


def test_the_documents_client_example_works(client: LLMClient) -> None:
    result = client.generate(prompt="Write a haiku about programming", max_tokens=100, temperature=0.8, wait=True)
    assert result["status"] == "completed" and isinstance(result["result"], str)
    assert result["metrics"]["prompt_tokens"] == len("Write a haiku about programming")


def test_submit_without_waiting_then_status_result_and_stream(client: LLMClient) -> None:
    queued = client.generate(prompt="later", max_tokens=12, temperature=0, wait=False)
    assert queued["status"] == "queued"
    task_id = queued["task_id"]
    events = list(client.stream(task_id))
    assert events[-1]["status"] == "completed"
    assert "".join(event.get("delta", "") for event in events) == events[-1]["result"]
    assert client.status(task_id)["status"] == "completed"
    assert client.result(task_id)["result"] == events[-1]["result"]


def test_errors_become_typed_exceptions(api: Api, client: LLMClient) -> None:
    with pytest.raises(AuthenticationError) as no_key:
        LLMClient(base_url=api.base_url, api_key="wrong").generate(prompt="x")
    assert no_key.value.status_code == 401
    with pytest.raises(TaskNotFoundError):
        client.result("no-such-task")
    with pytest.raises(TaskNotFoundError):
        list(client.stream("no-such-task"))
    with pytest.raises(InvalidRequestError) as invalid:
        client.generate(prompt="x", temperature=9)
    assert invalid.value.status_code == 400 and invalid.value.field == "temperature"
    with pytest.raises(TaskFailedError) as failed:
        client.generate(prompt="f" * 1100, max_tokens=2)
    assert failed.value.error_type == "ContextLengthError"


def test_a_cancelled_task_ends_its_stream_and_raises_when_waited_for(client: LLMClient) -> None:
    task_id = client.generate(prompt="long", max_tokens=1000, temperature=0, ignore_eos=True, wait=False)["task_id"]
    assert client.cancel(task_id)["status"] in ("cancelled", "processing")
    assert list(client.stream(task_id))[-1]["status"] == "cancelled"
    with pytest.raises(TaskCancelledError):
        client.wait(task_id)


def test_running_the_file_prints_a_text_and_its_metrics(api: Api) -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "client_example.py"), "--url", api.base_url, "--key", API_KEY, "Hello"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert "Result:" in run.stdout and "tokens_per_second:" in run.stdout
    generated = re.search(r"completion_tokens: (\d+)", run.stdout)
    assert generated and 1 <= int(generated.group(1)) <= 64  # sampled: it may end early on the EOS token
