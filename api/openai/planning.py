"""An OpenAI request body → what to run: the parsed request, its response shape and its choices (prompts × n,
one task each). Shared by the /v1 routes, which run a request at once, and the Batch API, which checks
each line of a file the same way and renders each line's answer in the same shape."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, get_args

from pydantic import BaseModel, ValidationError

from contract.model_registry import RegisteredModel
from contract.task_params import TaskParams

from ..http.errors import ApiError, invalid
from ..settings import ApiSettings
from ..tasks.submission import task_params
from .protocol import MAX_CHOICES, ChatCompletionRequest, CompletionRequest, unsupported
from .serving import Choice, Shape
from .tools import constraint, tool_mode

Endpoint = Literal["/v1/chat/completions", "/v1/completions"]
CHAT_PATH, COMPLETIONS_PATH = get_args(Endpoint)
SCHEMAS: dict[str, type[BaseModel]] = {CHAT_PATH: ChatCompletionRequest, COMPLETIONS_PATH: CompletionRequest}

ParamsFor = Callable[..., TaskParams]
"""TaskParams for one choice, from the request's common fields and the choice's own (text, seed...)"""


def parse(schema: type[BaseModel], body: dict[str, Any], max_tokens_limit: int) -> Any:
    """The validated request, or ApiError(400) naming the first bad field."""
    refused = unsupported(body, schema)
    if refused is not None:
        raise ApiError(400, refused[1], field=refused[0])
    try:
        parsed: Any = schema.model_validate(body, context={"max_tokens_limit": max_tokens_limit})
        if isinstance(parsed, ChatCompletionRequest):
            parsed.rendered_messages()  # content parts and missing content are refused here, as 400
        return parsed
    except ValidationError as error:
        raise invalid(error) from None
    except ValueError as error:
        raise ApiError(400, f"Invalid messages: {error}", field="messages") from None


def shape_of(parsed: Any) -> Shape:
    if isinstance(parsed, ChatCompletionRequest):
        return Shape(chat=True, logprobs=parsed.logprobs, tools=tool_mode(parsed))
    return Shape(chat=False, logprobs=parsed.logprobs is not None)


def choices_of(parsed: Any, shape: Shape, settings: ApiSettings, registered: RegisteredModel | None) -> list[Choice]:
    """The request's choices, each with its task's parameters (the model's own defaults filling gaps)."""

    def params(**own: Any) -> TaskParams:
        return task_params(
            settings,
            registered,
            max_tokens=parsed.wanted_tokens(),
            temperature=parsed.temperature,
            top_p=parsed.top_p,
            stop=tuple(parsed.stop_list()),
            **parsed.sampling(),
            **own,
        )

    if isinstance(parsed, ChatCompletionRequest):
        return _chat_choices(parsed, shape, params)
    return _completion_choices(parsed, params)


def _completion_choices(parsed: CompletionRequest, params: ParamsFor) -> list[Choice]:
    """prompts × n choices, the index running over n within each prompt (as vLLM numbers them)."""
    if parsed.echo and parsed.stream and any(not isinstance(p, str) for p in parsed.prompts()):
        raise ApiError(400, "Invalid echo: streamed echo needs text prompts, not token ids", field="echo")
    _check_count(len(parsed.prompts()) * parsed.n)
    choices = []
    for number, prompt in enumerate(parsed.prompts()):
        text = {"prompt": prompt} if isinstance(prompt, str) else {"prompt_ids": prompt}
        prompt_logprobs = (parsed.logprobs or 0) if parsed.echo else None
        for n in range(parsed.n):
            options = {**text, "logprobs": parsed.logprobs, "prompt_logprobs": prompt_logprobs}
            task = params(seed=_seed(parsed.seed, n), **options)
            choices.append(Choice(number * parsed.n + n, task, echo=parsed.echo, first_of_prompt=n == 0))
    return choices


def _chat_choices(parsed: ChatCompletionRequest, shape: Shape, params: ParamsFor) -> list[Choice]:
    _check_count(parsed.n)
    tools = [tool.model_dump(exclude_none=True) for tool in parsed.tools] if parsed.tools else None
    options = {
        "messages": parsed.rendered_messages(),
        "tools": tools,
        "json_schema": constraint(parsed, shape.tools),
        "logprobs": (parsed.top_logprobs or 0) if parsed.logprobs else None,
    }
    return [Choice(n, params(seed=_seed(parsed.seed, n), **options), first_of_prompt=n == 0) for n in range(parsed.n)]


def _seed(seed: int | None, n: int) -> int | None:
    """Each of n seeded choices draws its own numbers (the same seed would make them all alike)."""
    return None if seed is None else seed + n


def _check_count(count: int) -> None:
    if count > MAX_CHOICES:
        raise ApiError(400, f"Invalid n: prompts × n is {count}, above {MAX_CHOICES}", field="n")
