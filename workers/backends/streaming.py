"""Turns generated token ids into text deltas as they come, for any Hugging Face tokenizer."""

from __future__ import annotations

import time
from typing import Any

from transformers.generation.streamers import BaseStreamer

from .base import TextSink

REPLACEMENT = "\ufffd"


class DeltaStreamer(BaseStreamer):
    """Emits the new text after each token; holds back a trailing partial UTF-8 character.

    It decodes the whole generated sequence each time rather than token by token, because byte-level
    and SentencePiece tokenizers only decode correctly in context; the deltas then join exactly to the
    final decoded text.
    """

    def __init__(self, tokenizer: Any, on_text: TextSink) -> None:
        self.tokenizer = tokenizer
        self.on_text = on_text
        self.ids: list[int] = []
        self.sent = ""
        self.prompt_skipped = False
        self.started = time.monotonic()
        self.first_token_at: float | None = None

    def put(self, value: Any) -> None:
        if not self.prompt_skipped:  # generate() hands over the prompt first
            self.prompt_skipped = True
            return
        if self.first_token_at is None:
            self.first_token_at = time.monotonic()
        self.ids.extend(int(token) for token in value.reshape(-1).tolist())
        self._emit(final=False)

    def end(self) -> None:
        self._emit(final=True)

    @property
    def time_to_first_token(self) -> float | None:
        return None if self.first_token_at is None else self.first_token_at - self.started

    def _emit(self, final: bool) -> None:
        text = self.tokenizer.decode(self.ids, skip_special_tokens=True)
        if not text.startswith(self.sent) or (text.endswith(REPLACEMENT) and not final):
            return
        delta, self.sent = text[len(self.sent) :], text
        if delta:
            self.on_text(delta)
