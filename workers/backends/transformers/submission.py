"""A request as the engine takes it: token ids, sampling settings, an optional grammar, and its deadline."""

from __future__ import annotations

import time
from dataclasses import fields

from contract.task_params import TaskParams

from ...engine.grammar import Grammars
from ...engine.types import EngineRequest, Sampling


def engine_request(params: TaskParams, prompt_ids: list[int], deadline: float, grammars: Grammars) -> EngineRequest:
    if time.monotonic() >= deadline:
        raise TimeoutError("task time limit reached before generation started")
    return EngineRequest(
        prompt_ids,
        params.max_tokens,
        deadline,
        sampling_of(params),
        seed=params.seed,
        grammar=None if params.json_schema is None else grammars.for_schema(params.json_schema),
    )


def sampling_of(params: TaskParams) -> Sampling:
    """The engine's Sampling from the task's fields of the same names (Sampling lists those the engine
    reads), in the hashable forms the engine groups requests by."""
    given = {field.name: getattr(params, field.name) for field in fields(Sampling)}
    given["logit_bias"] = tuple(sorted(params.logit_bias.items()))
    given["stop_token_ids"] = frozenset(params.stop_token_ids)
    return Sampling(**given)
