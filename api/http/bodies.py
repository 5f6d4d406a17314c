"""JSON bodies: a request's read (application/json only, one object, no key given twice), a response's
written from its documented model."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any, Concatenate, ParamSpec, TypeVar

from flask import Response, jsonify, request
from pydantic import BaseModel

from .errors import ApiError

T = TypeVar("T")
R = TypeVar("R")
P = ParamSpec("P")


def validated(parse: Callable[[], T]) -> Callable[[Callable[Concatenate[T, P], R]], Callable[P, R]]:
    """Parses and validates the request with `parse` (400, 413 or 415 when it is bad) before the view, and
    hands the view what it returned. Placed above the rate limit's decorator, a refused request never
    reaches the limiter, and so costs nothing."""

    def decorate(view: Callable[Concatenate[T, P], R]) -> Callable[P, R]:
        @wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            return view(parse(), *args, **kwargs)

        return wrapper

    return decorate


class DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def json_object() -> dict[str, Any]:
    if request.mimetype and request.mimetype != "application/json" and not request.mimetype.endswith("+json"):
        raise ApiError(
            415, f"Unsupported Content-Type {request.mimetype!r}: send application/json", field="Content-Type"
        )
    try:
        body = json.loads(request.get_data(), object_pairs_hook=_no_duplicate_keys)
    except DuplicateKeyError as error:
        raise ApiError(400, f"Invalid {error.key}: given more than once", field=error.key) from None
    except (ValueError, RecursionError) as error:  # not UTF-8, not JSON, too many digits, nested too deep
        reason = "nested too deeply" if isinstance(error, RecursionError) else str(error)
        raise ApiError(400, f"Invalid JSON body: {reason}", field="body") from None
    if not isinstance(body, dict):
        raise ApiError(400, "Invalid body: expected a JSON object", field="body")
    return body


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """JSON parsers disagree on which of two equal keys wins; refuse the ambiguity instead of guessing."""
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise DuplicateKeyError(key)
        found[key] = value
    return found


def respond(model: BaseModel, *, nulls: bool = False) -> Response:
    """A JSON body built from its documented model, so /openapi.json and behaviour cannot drift apart. Our
    own bodies leave out what is null; OpenAI's (`nulls`) keep every key its clients read."""
    return jsonify(model.model_dump(mode="json", exclude_none=not nulls))
