"""A request's prompt tokens, counted in the api for its tenant's token budgets: with the model's own
tokenizer, which its workers publish in Redis (contract/published_tokenizers.py), loaded once per process by
the `tokenizers` library (no torch). Until a worker has published one, and for a chat's template, which the
worker renders, the count is an estimate: the task's settlement replaces it with what the worker counted."""

from __future__ import annotations

import json
import logging
import math
import time

import redis
from tokenizers import Tokenizer

from contract import published_tokenizers
from contract.task_params import TaskParams

logger = logging.getLogger(__name__)
BYTES_PER_TOKEN = 4
"""the estimate without a tokenizer (about right for English with GPT-2's and Llama's vocabularies)"""
TOKENS_PER_MESSAGE = 4
"""a chat template's own tokens around each message (role, separators), as OpenAI counts them"""
RETRY_SECONDS = 30.0


class PromptTokens:
    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self.tokenizers: dict[str, Tokenizer] = {}
        self.missing_until: dict[str, float] = {}

    def count(self, model: str, params: TaskParams) -> int:
        if params.prompt_ids is not None:
            return len(params.prompt_ids)
        if params.prompt is not None:
            return self._tokens(model, params.prompt)
        messages = params.messages or []
        texts = [_content(message) for message in messages]
        return sum(self._tokens(model, text) for text in texts) + TOKENS_PER_MESSAGE * len(messages)

    def _tokens(self, model: str, text: str) -> int:
        tokenizer = self._tokenizer(model)
        if tokenizer is None:
            return math.ceil(len(text.encode()) / BYTES_PER_TOKEN)
        return len(tokenizer.encode(text, add_special_tokens=False).ids)

    def _tokenizer(self, model: str) -> Tokenizer | None:
        if model in self.tokenizers:
            return self.tokenizers[model]
        if time.monotonic() < self.missing_until.get(model, 0.0):
            return None
        try:
            published = published_tokenizers.read(self.client, model)
            if published is not None:
                self.tokenizers[model] = Tokenizer.from_str(published)
                return self.tokenizers[model]
        except Exception:  # Redis away, or a tokenizer this version cannot parse: estimate, look again later
            logger.warning("tokenizer of %s not loaded; prompt tokens estimated", model, exc_info=True)
        self.missing_until[model] = time.monotonic() + RETRY_SECONDS
        return None


def _content(message: dict[str, object]) -> str:
    content = message.get("content")
    text = content if isinstance(content, str) else json.dumps(content) if content is not None else ""
    calls = message.get("tool_calls")
    return text + (json.dumps(calls) if calls else "")
