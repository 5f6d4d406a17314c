"""Turns generated token ids into text deltas as they come, for any Hugging Face tokenizer."""

from __future__ import annotations

from typing import Any

from .base import TextSink

REPLACEMENT = "\ufffd"


class IncrementalDecoder:
    """Emits the new text after each token; holds back a trailing partial UTF-8 character.

    It decodes the whole generated sequence each time rather than token by token, because byte-level
    and SentencePiece tokenizers only decode correctly in context; the deltas then join exactly to the
    final decoded text.
    """

    def __init__(self, tokenizer: Any, on_text: TextSink, skip_special_tokens: bool = True) -> None:
        self.tokenizer = tokenizer
        self.on_text = on_text
        self.skip_special_tokens = skip_special_tokens
        self.ids: list[int] = []
        self.sent = ""

    def add(self, tokens: list[int]) -> None:
        self.ids.extend(tokens)
        self._emit(final=False)

    def finish(self) -> str:
        """Flushes what was held back; returns the whole text."""
        self._emit(final=True)
        return self.sent

    def _emit(self, final: bool) -> None:
        text = self.tokenizer.decode(self.ids, skip_special_tokens=self.skip_special_tokens)
        if not text.startswith(self.sent) or (text.endswith(REPLACEMENT) and not final):
            if final:
                self.sent = text  # a tokenizer that rewrote earlier text: the result still is the full decode
            return
        delta, self.sent = text[len(self.sent) :], text
        if delta:
            self.on_text(delta)
