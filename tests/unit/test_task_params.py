"""How a request's parameters merge with the model's and the api's defaults, and the TaskParams record itself."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from api.settings import ApiSettings
from api.tasks.submission import task_params
from contract.model_registry import RegisteredModel
from contract.task_params import TaskParams

SETTINGS = ApiSettings(  # type: ignore[call-arg]
    api_keys="k", max_new_tokens=512, temperature=0.7, top_p=0.9, _env_file=None
)


def registered(max_tokens: int | None = None, temperature: float | None = None) -> RegisteredModel:
    return RegisteredModel(name="m", resource="ns/x", max_tokens=max_tokens, temperature=temperature)


@pytest.mark.parametrize(
    ("model", "asked", "expected"),
    [
        pytest.param(registered(64, 0.2), (100, 0.3, 0.5), (100, 0.3, 0.5), id="request-wins-over-model"),
        pytest.param(None, (100, 0.3, 0.5), (100, 0.3, 0.5), id="request-wins-over-settings"),
        pytest.param(registered(64, 0.2), (None, None, None), (64, 0.2, 0.9), id="model-defaults"),
        pytest.param(registered(64, None), (None, None, None), (64, 0.7, 0.9), id="model-max-tokens-only"),
        pytest.param(registered(None, 1.1), (None, None, None), (512, 1.1, 0.9), id="model-temperature-only"),
        pytest.param(registered(), (None, None, None), (512, 0.7, 0.9), id="model-without-defaults"),
        pytest.param(None, (None, None, None), (512, 0.7, 0.9), id="unregistered-model"),
        pytest.param(registered(64, 0.0), (None, None, None), (64, 0.0, 0.9), id="model-temperature-zero"),
        pytest.param(registered(64, 0.5), (None, 0.0, None), (64, 0.0, 0.9), id="request-temperature-zero"),
        pytest.param(registered(64, 0.5), (None, None, 1.0), (64, 0.5, 1.0), id="request-top-p"),
        pytest.param(registered(64, 0.5), (8, None, None), (8, 0.5, 0.9), id="request-max-tokens"),
    ],
)
def test_request_then_model_then_settings(
    model: RegisteredModel | None,
    asked: tuple[int | None, float | None, float | None],
    expected: tuple[int, float, float],
) -> None:
    max_tokens, temperature, top_p = asked

    params = task_params(SETTINGS, model, max_tokens=max_tokens, temperature=temperature, top_p=top_p, prompt="p")

    assert (params.max_tokens, params.temperature, params.top_p) == expected


def test_the_text_stop_and_seed_are_passed_through() -> None:
    messages = [{"role": "user", "content": "hi"}]

    params = task_params(
        SETTINGS, None, max_tokens=None, temperature=None, top_p=None, messages=messages, stop=("x", "y"), seed=7
    )

    assert params == TaskParams(max_tokens=512, temperature=0.7, top_p=0.9, messages=messages, stop=("x", "y"), seed=7)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param({"prompt": "p", "messages": [{"role": "user", "content": "hi"}]}, id="both"),
        pytest.param({"prompt": "p", "prompt_ids": [1, 2]}, id="text-and-ids"),
        pytest.param({}, id="neither"),
    ],
)
def test_exactly_one_of_prompt_prompt_ids_or_messages(text: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match="exactly one of prompt, prompt_ids or messages"):
        TaskParams.model_validate({"max_tokens": 5, "temperature": 0.7, "top_p": 0.9, **text})


@pytest.mark.parametrize(
    "wrong",
    [
        pytest.param({"max_tokens": 0}, id="max_tokens-0"),
        pytest.param({"temperature": -0.1}, id="negative-temperature"),
        pytest.param({"top_p": 0.0}, id="top_p-0"),
        pytest.param({"top_p": 1.5}, id="top_p-above-1"),
        pytest.param({"best_of": 2}, id="extra-field"),
    ],
)
def test_out_of_range_values_and_extra_fields_are_refused(wrong: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        TaskParams.model_validate({"prompt": "p", "max_tokens": 5, "temperature": 0.7, "top_p": 0.9, **wrong})


@pytest.mark.parametrize(
    "params",
    [
        pytest.param(TaskParams(prompt="p", max_tokens=5, temperature=0.0, top_p=1.0), id="prompt-defaults"),
        pytest.param(
            TaskParams(
                messages=[{"role": "system", "content": "s"}, {"role": "user", "content": "u"}],
                max_tokens=9,
                temperature=1.3,
                top_p=0.5,
                stop=("a", "bc"),
                seed=42,
            ),
            id="messages-everything",
        ),
    ],
)
def test_json_round_trip_gives_an_equal_record(params: TaskParams) -> None:
    text = params.model_dump_json(exclude_defaults=True)

    assert TaskParams.model_validate_json(text) == params


def test_a_record_in_the_old_style_still_parses() -> None:
    old = '{"prompt": "p", "max_tokens": 5, "temperature": 0.7, "top_p": 0.9, "stop": ["x"], "seed": null}'

    params = TaskParams.model_validate_json(old)

    assert params == TaskParams(prompt="p", max_tokens=5, temperature=0.7, top_p=0.9, stop=("x",))
    assert params.stop == ("x",)
    assert params.messages is None
