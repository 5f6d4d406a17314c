"""The engine's sampling settings come from the task's fields of the same names, none dropped on the way."""

from __future__ import annotations

from dataclasses import fields

from contract.task_params import TaskParams
from workers.backends.transformers.submission import sampling_of
from workers.engine.types import Sampling

SET = {
    "temperature": 0.5,
    "top_p": 0.9,
    "top_k": 7,
    "min_p": 0.1,
    "repetition_penalty": 1.3,
    "presence_penalty": 0.4,
    "frequency_penalty": -0.2,
    "logit_bias": {9: 1.0, 3: -2.0},
    "min_tokens": 2,
    "ignore_eos": True,
    "stop_token_ids": (5, 4),
    "logprobs": 3,
    "prompt_logprobs": 1,
}


def test_every_engine_setting_is_the_tasks() -> None:
    sampling = sampling_of(TaskParams(prompt="hi", max_tokens=8, **SET))
    assert {field.name for field in fields(Sampling)} == set(SET)
    assert sampling == Sampling(
        **{**SET, "logit_bias": ((3, -2.0), (9, 1.0)), "stop_token_ids": frozenset({4, 5})}  # type: ignore[arg-type]
    )


def test_a_task_that_sets_nothing_changes_nothing() -> None:
    assert sampling_of(TaskParams(prompt="hi", max_tokens=8, temperature=1.0, top_p=1.0)) == Sampling()
