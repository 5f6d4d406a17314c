"""What a task asks the worker to do: built once by the api, stored in the task record, read by the actor
and the request log. Exactly one of `prompt` (plain text), `prompt_ids` (token ids) or `messages` (a chat,
rendered by the worker with the model's template) is set. An embedding task (`embedding`) generates nothing:
its prompt's pooled hidden state is the result, and its max_tokens is 0.

Every field past `seed` is a vLLM/OpenAI sampling or output option whose default changes nothing, so a
record written before it existed reads the same."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_LOGPROBS = 20
"""the most alternatives a request may ask for per token (OpenAI's top_logprobs limit, vLLM's default)"""


class TaskParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    max_tokens: int = Field(ge=0)
    temperature: float = Field(ge=0.0)
    top_p: float = Field(gt=0.0, le=1.0)
    prompt: str | None = None
    prompt_ids: tuple[int, ...] | None = None
    """the prompt as token ids (OpenAI completions accept them); used as they are, no special tokens added"""
    messages: list[dict[str, Any]] | None = None
    """chat messages ({role, content} and, for tool use, tool_calls / tool_call_id / name)"""
    stop: tuple[str, ...] = ()
    """strings that end generation; the text ends before the first one found"""
    seed: int | None = None
    """makes sampling repeatable for the same request"""
    top_k: int = Field(0, ge=0)
    """sample from the k most likely tokens only; 0 considers all"""
    min_p: float = Field(0.0, ge=0.0, le=1.0)
    """drop tokens less likely than min_p times the most likely one"""
    repetition_penalty: float = Field(1.0, gt=0.0)
    """>1 discourages any token already in the prompt or the output (divides positive logits, multiplies negative)"""
    presence_penalty: float = Field(0.0, ge=-2.0, le=2.0)
    frequency_penalty: float = Field(0.0, ge=-2.0, le=2.0)
    logit_bias: dict[int, float] = Field(default_factory=dict)
    """token id -> value added to its logit before sampling"""
    min_tokens: int = Field(0, ge=0)
    """end-of-sequence and stop_token_ids cannot end generation before this many tokens"""
    ignore_eos: bool = False
    stop_token_ids: tuple[int, ...] = ()
    """token ids that end generation like end-of-sequence does"""
    include_stop_str_in_output: bool = False
    skip_special_tokens: bool = True
    logprobs: int | None = Field(None, ge=0, le=MAX_LOGPROBS)
    """per generated token its log-probability and this many most likely alternatives; None: none"""
    prompt_logprobs: int | None = Field(None, ge=0, le=MAX_LOGPROBS)
    """the same for each prompt token (after the first); None: none"""
    json_schema: dict[str, Any] | None = None
    """constrains the output to JSON valid under this schema"""
    tools: list[dict[str, Any]] | None = None
    """OpenAI tool definitions, given to the chat template"""
    embedding: bool = False
    """the prompt's embedding instead of generated text (POST /v1/embeddings)"""
    dimensions: int | None = Field(None, ge=1)
    """an embedding's length, for models that allow shortening it (Matryoshka); None: the model's own"""

    @model_validator(mode="after")
    def _one_text(self) -> TaskParams:
        if sum(text is not None for text in (self.prompt, self.prompt_ids, self.messages)) != 1:
            raise ValueError("a task has exactly one of prompt, prompt_ids or messages")
        if (self.max_tokens == 0) != self.embedding:
            raise ValueError("an embedding task generates no tokens (max_tokens 0); any other generates at least 1")
        return self
