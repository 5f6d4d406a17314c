"""Constrained decoding with llguidance: a request's JSON schema becomes a matcher that says, before each
draw, which tokens may come next (a bitmask over the vocabulary), and after it, whether the output is
complete.

llguidance is imported only when a request brings a schema, so a worker without it serves everything
else. The tokenizer's llguidance view is built once per backend (Grammars); each request gets its own
matcher (Grammar), compiled in the caller's thread, not the engine's.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import torch

from contract.refusals import RequestRefused

logger = logging.getLogger(__name__)
FIELD = "response_format"


class Grammars:
    """Compiles JSON schemas into matchers for one tokenizer. The tokenizer's llguidance view takes seconds
    for a large vocabulary (6 s for 50k tokens on the development machine): warm() builds it in the
    background at load, so the first JSON request does not wait for it."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.lltok: Any = None
        self.lock = threading.Lock()

    def warm(self) -> None:
        """Builds the tokenizer's view in a background thread (nothing when llguidance is missing)."""
        threading.Thread(target=self._warm, name="grammar-tokenizer", daemon=True).start()

    def _warm(self) -> None:
        try:
            self._lltok()
        except Exception:  # the first request that needs it tries again, and reports why
            logger.warning("could not prepare the tokenizer for constrained decoding", exc_info=True)

    def _lltok(self) -> Any:
        import llguidance.hf

        with self.lock:
            if self.lltok is None:
                self.lltok = llguidance.hf.from_tokenizer(self.tokenizer)
            return self.lltok

    def for_schema(self, schema: dict[str, Any]) -> Grammar:
        try:
            import llguidance
        except ImportError as error:  # pragma: no cover - llguidance is a dependency; a trimmed image may lack it
            raise RequestRefused(FIELD, "this worker cannot constrain output (llguidance is not installed)") from error
        lltok = self._lltok()
        try:
            grammar = llguidance.LLMatcher.grammar_from_json_schema(schema, defaults={"whitespace_flexible": False})
            matcher = llguidance.LLMatcher(lltok, grammar)
        except Exception as error:  # whatever llguidance raises on a schema it cannot compile
            raise RequestRefused(FIELD, f"the JSON schema cannot be used: {error}") from error
        if matcher.get_error():
            raise RequestRefused(FIELD, f"the JSON schema cannot be used: {matcher.get_error()}")
        return Grammar(matcher, lltok.vocab_size)


class Grammar:
    """One request's matcher; the engine calls mask() before each draw and consume() after it."""

    def __init__(self, matcher: Any, vocab_size: int) -> None:
        import llguidance.torch

        self.matcher = matcher
        self.lt = llguidance.torch
        self.bitmask = llguidance.torch.allocate_token_bitmask(1, vocab_size)

    def mask(self, row_logits: torch.Tensor) -> None:
        """Forbidden tokens, and any id past the tokenizer's (a model's vocabulary may be wider), go to -inf."""
        self.lt.fill_next_token_bitmask(self.matcher, self.bitmask, 0)
        self.lt.apply_token_bitmask_inplace(row_logits, self.bitmask.to(row_logits.device))

    def consume(self, token: int) -> None:
        if not self.matcher.consume_token(token):
            raise RuntimeError(f"the grammar refused token {token}: {self.matcher.get_error()}")

    @property
    def finished(self) -> bool:
        return bool(self.matcher.is_stopped())
