"""Ollama backend: streams from an Ollama server's /api/generate, and embeds with its /api/embed
(https://github.com/ollama/ollama/blob/main/docs/api.md).

One worker serves every model the Ollama server has pulled; the configured one (MODEL_NAME, or OLLAMA_MODEL) must be
among them.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import requests

from contract.error_kinds import TIME_LIMIT_MESSAGE
from contract.refusals import RequestRefused
from contract.task_params import TaskParams

from .base import EmbeddingResult, GenerationRequest, GenerationResult, LogprobSink, TextSink, UsageSink
from .chat import plain_chat_template

logger = logging.getLogger(__name__)
CONNECT_TIMEOUT = 5
# Between two streamed lines; a model that Ollama is still loading can take a while to start.
READ_TIMEOUT = 300


class OllamaModelLoadError(RuntimeError):
    pass


class OllamaUnavailable(RuntimeError):
    """The Ollama server cannot be reached."""


class OllamaModelNotFound(RuntimeError):
    """The model is not pulled on the Ollama server."""


class OllamaError(RuntimeError):
    """Ollama answered with an error."""


class OllamaBackend:
    name = "ollama"

    def __init__(self, host: str, model: str) -> None:
        self.host = host.rstrip("/")
        self.models = [model]
        self.session = requests.Session()

    def load(self) -> None:
        try:
            response = self.session.get(f"{self.host}/api/tags", timeout=CONNECT_TIMEOUT)
            response.raise_for_status()
        except requests.RequestException as error:
            raise OllamaModelLoadError(f"cannot reach Ollama at OLLAMA_HOST={self.host}: {error}") from error
        pulled = [entry["name"] for entry in response.json().get("models", [])]
        configured = self.models[0]
        if not any(_same_model(configured, name) for name in pulled):
            raise OllamaModelLoadError(
                f"MODEL_NAME={configured!r} is not pulled on {self.host} (it has {pulled}); "
                f"run `ollama pull {configured}`"
            )
        self.models = [configured, *(name for name in pulled if not _same_model(configured, name))]
        logger.info("Ollama at %s serves %s", self.host, self.models)

    def tokenizer_json(self) -> str | None:
        return None  # Ollama keeps its tokenizer; the api estimates prompt tokens for its models

    def embed(self, request: GenerationRequest) -> EmbeddingResult:
        """Ollama's /api/embed answers unit-length vectors, as the transformers backend does."""
        params = request.params
        if params.prompt_ids is not None:
            raise RequestRefused("input", "the Ollama backend (MODEL_BACKEND=ollama) embeds text, not token ids")
        if params.dimensions is not None:
            raise RequestRefused("dimensions", "the Ollama backend (MODEL_BACKEND=ollama) does not shorten embeddings")
        timeout = max(request.deadline - time.monotonic(), 0.001)
        body = {"model": request.model, "input": params.prompt}
        try:
            response = self.session.post(f"{self.host}/api/embed", json=body, timeout=(CONNECT_TIMEOUT, timeout))
        except requests.ConnectionError as error:
            raise OllamaUnavailable(f"cannot reach Ollama at {self.host}: {error}") from error
        self._raise_for(response, request.model)
        answer = response.json()
        return EmbeddingResult(
            [float(value) for value in answer["embeddings"][0]], int(answer.get("prompt_eval_count", 0))
        )

    def generate(
        self,
        request: GenerationRequest,
        on_text: TextSink | None = None,
        on_usage: UsageSink | None = None,
        on_logprobs: LogprobSink | None = None,
    ) -> GenerationResult:
        """(Ollama counts tokens only at the end: `on_usage` is not called; logprobs are refused.)"""
        params = request.params
        refuse_unsupported(params)
        body = {
            "model": request.model,
            # Chat messages go in a plain template: /api/generate is the one route whose stream we follow.
            "prompt": plain_chat_template(params.messages) if params.messages else params.prompt,
            "stream": True,
            "options": options_of(params),
            **({"format": params.json_schema} if params.json_schema is not None else {}),
        }
        started = time.monotonic()
        try:
            with self.session.post(
                f"{self.host}/api/generate", json=body, stream=True, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT)
            ) as response:
                self._raise_for(response, request.model)
                return self._read(response, request, on_text or (lambda _: None), started)
        except requests.ConnectionError as error:
            raise OllamaUnavailable(f"cannot reach Ollama at {self.host}: {error}") from error

    def _read(
        self, response: requests.Response, request: GenerationRequest, on_text: TextSink, started: float
    ) -> GenerationResult:
        pieces: list[str] = []
        first_token_at: float | None = None
        for line in response.iter_lines():
            if time.monotonic() >= request.deadline:
                raise TimeoutError(TIME_LIMIT_MESSAGE)
            if not line:
                continue
            chunk: dict[str, Any] = json.loads(line)
            if "error" in chunk:
                raise OllamaError(f"Ollama: {chunk['error']}")
            if chunk.get("response"):
                first_token_at = first_token_at or time.monotonic()
                pieces.append(chunk["response"])
                on_text(chunk["response"])
            if chunk.get("done"):
                return GenerationResult(
                    text="".join(pieces),
                    prompt_tokens=int(chunk.get("prompt_eval_count", 0)),
                    completion_tokens=int(chunk.get("eval_count", len(pieces))),
                    time_to_first_token=None if first_token_at is None else first_token_at - started,
                    finish_reason="length" if chunk.get("done_reason") == "length" else "stop",
                )
        raise OllamaError("Ollama closed the stream before it was done")

    @staticmethod
    def _raise_for(response: requests.Response, model: str) -> None:
        if response.ok:
            return
        try:
            message = response.json().get("error", response.text)
        except ValueError:
            message = response.text
        if response.status_code == 404:
            raise OllamaModelNotFound(f"model {model!r} is not pulled on the Ollama server: {message}")
        raise OllamaError(f"Ollama answered {response.status_code}: {message}")


def options_of(params: TaskParams) -> dict[str, Any]:
    """Ollama's options for the request: the ones it always had, and each other one only when set, so a
    default request reads as before."""
    options: dict[str, Any] = {
        "temperature": params.temperature,
        "top_p": params.top_p,
        "num_predict": params.max_tokens,
    }
    optional = {
        "stop": (list(params.stop), bool(params.stop)),
        "seed": (params.seed, params.seed is not None),
        "top_k": (params.top_k, params.top_k > 0),
        "min_p": (params.min_p, params.min_p > 0),
        "repeat_penalty": (params.repetition_penalty, params.repetition_penalty != 1.0),
        "presence_penalty": (params.presence_penalty, params.presence_penalty != 0),
        "frequency_penalty": (params.frequency_penalty, params.frequency_penalty != 0),
    }
    options.update({name: value for name, (value, given) in optional.items() if given})
    return options


def refuse_unsupported(params: TaskParams) -> None:
    """Raises RequestRefused naming the first option Ollama's /api/generate cannot honour."""
    unsupported = {
        "prompt": params.prompt_ids is not None,
        "logprobs": params.logprobs is not None,
        "prompt_logprobs": params.prompt_logprobs is not None,
        "logit_bias": bool(params.logit_bias),
        "min_tokens": params.min_tokens > 0,
        "ignore_eos": params.ignore_eos,
        "stop_token_ids": bool(params.stop_token_ids),
        "include_stop_str_in_output": params.include_stop_str_in_output,
        "skip_special_tokens": not params.skip_special_tokens,
        "tools": bool(params.tools),
    }
    for field, asked in unsupported.items():
        if asked:
            what = "token ids as the prompt (prompt_ids)" if field == "prompt" else field
            raise RequestRefused(field, f"the Ollama backend (MODEL_BACKEND=ollama) does not support {what}")


def _same_model(configured: str, pulled: str) -> bool:
    """Ollama names a model without a tag as name:latest."""
    return pulled in (configured, f"{configured}:latest")
