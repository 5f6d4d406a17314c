"""A request's input as the model takes it: the prompt (or the chat rendered with the model's template)
as token ids, checked against the vocabulary and the context before anything is queued."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from contract.refusals import RequestRefused
from contract.task_params import TaskParams

from ..base import ContextLengthError
from ..chat import plain_chat_template


class Inputs:
    def __init__(self, tokenizer: Any, vocab_size: int, context: int | None) -> None:
        self.tokenizer = tokenizer
        self.vocab_size = vocab_size
        self.context = context

    def prompt_ids(self, params: TaskParams) -> list[int]:
        """The prompt as token ids, every id and the whole length checked (RequestRefused,
        ContextLengthError)."""
        ids = self._ids(params)
        self.check_ids("logit_bias", params.logit_bias)
        self.check_ids("stop_token_ids", params.stop_token_ids)
        self._check_context(len(ids), params.max_tokens)
        return ids

    def _ids(self, params: TaskParams) -> list[int]:
        """Given as they are, or the text (or rendered chat) tokenized."""
        if params.prompt_ids is not None:
            if not params.prompt_ids:
                raise RequestRefused("prompt", "the prompt has no tokens")
            self.check_ids("prompt", params.prompt_ids)
            return list(params.prompt_ids)
        ids: list[int] = self.tokenizer(self.render(params), add_special_tokens=params.messages is None)["input_ids"]
        return ids

    def render(self, params: TaskParams) -> str:
        """The prompt, or the chat messages in the model's chat template (a plain one when it has none), with
        the request's tools when it has some."""
        if params.messages is None:
            return params.prompt or ""
        if getattr(self.tokenizer, "chat_template", None):
            tools = {"tools": params.tools} if params.tools else {}
            rendered: str = self.tokenizer.apply_chat_template(
                params.messages, tokenize=False, add_generation_prompt=True, **tools
            )
            return rendered
        return plain_chat_template(params.messages)

    def check_ids(self, field: str, ids: Iterable[int]) -> None:
        outside = sorted(token for token in ids if not 0 <= token < self.vocab_size)
        if outside:
            raise RequestRefused(
                field, f"token id {outside[0]} is outside the model's vocabulary (0 to {self.vocab_size - 1})"
            )

    def _check_context(self, prompt_tokens: int, max_tokens: int) -> None:
        if self.context is None or prompt_tokens + max_tokens <= self.context:
            return
        if max_tokens == 0:  # an embedding: nothing is generated
            raise ContextLengthError(
                f"the input ({prompt_tokens} tokens) exceeds the model's context of {self.context} tokens"
            )
        raise ContextLengthError(
            f"the prompt ({prompt_tokens} tokens) plus max_tokens ({max_tokens}) exceed the model's context of "
            f"{self.context} tokens"
        )
