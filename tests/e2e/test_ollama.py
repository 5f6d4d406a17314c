"""The Ollama backend, run by a real worker against tests/support/ollama_stub.py (no Ollama server runs here)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from ..support.ollama_stub import OllamaStub
from ..support.stack import (
    API_KEY,
    Api,
    Process,
    RedisServer,
    Started,
    free_port,
    service_env,
    sse_events,
    submit,
    wait_for_final,
)

MODELS = ["llama2:latest", "mistral:latest"]


@dataclass
class OllamaStack:
    stub: OllamaStub
    worker: Process
    api: Api


@pytest.fixture(scope="module")
def ollama(module_started: Started, redis_server: RedisServer, log_dir: Path) -> OllamaStack:
    stub = module_started.own(OllamaStub(MODELS, free_port()).start())
    settings = {"model_backend": "ollama", "ollama_host": stub.url, "ollama_model": "llama2", "log_dir": log_dir}
    url = redis_server.url(db=6)
    # STREAM_INTERVAL=0: every piece Ollama streams becomes its own delta, so the test can see each one
    worker = module_started.worker(url, served_model_name="llama2", stream_interval=0, **settings)
    api = module_started.api(url, api_keys=API_KEY, **settings)
    return OllamaStack(stub, worker, api)


def test_health_lists_the_models_ollama_reports(ollama: OllamaStack) -> None:
    body = requests.get(ollama.api.url("/health"), timeout=5).json()
    assert (body["backend"], body["model"], body["model_loaded"]) == ("ollama", "llama2", True)
    assert body["available_models"] == ["llama2", "mistral:latest"]


def test_generation_streams_from_ollama_with_the_requests_parameters(ollama: OllamaStack) -> None:
    # Given a request with its own sampling parameters
    task_id = submit(ollama.api, prompt="tell me three words", max_tokens=5, temperature=0.3, top_p=0.5)
    # Then Ollama was asked with them, and the result and metrics come from Ollama's stream and counts
    result = wait_for_final(ollama.api, task_id)
    assert result["result"] == "w0 w1 w2 w3 w4 "
    assert (result["metrics"]["prompt_tokens"], result["metrics"]["completion_tokens"]) == (4, 5)
    sent = ollama.stub.requests[-1]
    assert (sent["model"], sent["stream"]) == ("llama2", True)
    assert sent["options"] == {"temperature": 0.3, "top_p": 0.5, "num_predict": 5}
    # And the stream carried each piece as it came
    deltas = [event["data"].get("delta") for event in sse_events(ollama.api, task_id)]
    assert [delta for delta in deltas if delta] == ["w0 ", "w1 ", "w2 ", "w3 ", "w4 "]


def test_a_stop_from_ollama_ends_early_and_another_pulled_model_is_served(ollama: OllamaStack) -> None:
    result = wait_for_final(ollama.api, submit(ollama.api, prompt="STOP soon", max_tokens=50, model="mistral:latest"))
    assert result["result"] == "w0 w1 w2 " and ollama.stub.requests[-1]["model"] == "mistral:latest"


def test_ollama_errors_become_clear_task_errors_and_the_worker_lives(ollama: OllamaStack) -> None:
    # A model removed from Ollama after the worker started
    ollama.stub.models = ["llama2:latest"]
    try:
        gone = wait_for_final(ollama.api, submit(ollama.api, prompt="x", max_tokens=2, model="mistral:latest"))
    finally:
        ollama.stub.models = list(MODELS)
    assert gone["error_type"] == "OllamaModelNotFound" and "not pulled" in gone["error_message"]
    # The Ollama server down
    ollama.stub.stop()
    try:
        down = wait_for_final(ollama.api, submit(ollama.api, prompt="x", max_tokens=2))
    finally:
        ollama.stub.start()
    assert down["error_type"] == "OllamaUnavailable" and ollama.stub.url in down["error_message"]
    # And once it is back, the same worker serves again
    assert ollama.worker.alive()
    assert wait_for_final(ollama.api, submit(ollama.api, prompt="x", max_tokens=2))["status"] == "completed"


def test_a_worker_exits_naming_ollama_host_when_ollama_cannot_be_reached(tmp_path: Path) -> None:
    env = service_env(
        model_backend="ollama",
        ollama_host=f"http://127.0.0.1:{free_port()}",
        log_dir=tmp_path,
        redis_url="redis://127.0.0.1:1/0",
        worker_metrics_port=free_port(),
    )
    run = subprocess.run([sys.executable, "-m", "workers"], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode != 0 and "OLLAMA_HOST" in run.stderr


def test_ollama_embeds_through_its_own_route(ollama: OllamaStack) -> None:
    body = {"input": ["one two", "three"], "model": "llama2"}
    response = requests.post(
        ollama.api.url("/v1/embeddings"), json=body, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=30
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    for item, text in zip(answer["data"], ["one two", "three"], strict=True):
        assert item["embedding"] == pytest.approx(OllamaStub.vector(text), abs=1e-6)
    assert answer["usage"] == {"prompt_tokens": 3, "total_tokens": 3}
    assert {"model": "llama2", "input": "three"} in ollama.stub.requests
