"""The api's errors: ApiError raised anywhere, and the two bodies it leaves in (ours and OpenAI's)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, ValidationError


class ApiError(Exception):
    def __init__(
        self,
        status_code: int,
        message: str,
        retry_after: int | None = None,
        headers: dict[str, str] | None = None,
        **details: Any,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.retry_after = retry_after
        self.headers = headers or {}
        self.details = details


OPENAI_PREFIX = "/v1/"
# OpenAI's error types by status; its client libraries pick their exception class by the status itself.
OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    429: "rate_limit_error",
    503: "service_unavailable",
}


class OpenAIErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = Field(description="the request field at fault")
    code: str | None


class OpenAIErrorBody(BaseModel):
    """OpenAI's error body, on every /v1 route."""

    error: OpenAIErrorDetail


def openai_error(status_code: int, message: str, details: dict[str, Any]) -> OpenAIErrorBody:
    """OpenAI's error body: `param` is our `field`."""
    kind = OPENAI_TYPES.get(status_code, "server_error")
    detail = OpenAIErrorDetail(message=message, type=kind, param=details.get("field"), code=details.get("code"))
    return OpenAIErrorBody(error=detail)


class FieldError(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    error: str
    status_code: int
    field: str | None = Field(None, description="the field at fault, on 400 and 413")
    errors: list[FieldError] | None = Field(None, description="every field at fault, on 400")
    limit: str | None = Field(None, description="the tenant's limit reached, on a 429 for a token budget")


def field_errors(errors: list[Any]) -> list[dict[str, str]]:
    """pydantic's errors as [{field, message}], with the field as a dotted path ('body' for the whole)."""
    return [
        {"field": ".".join(str(part) for part in error["loc"]) or "body", "message": error["msg"]} for error in errors
    ]


def invalid(error: ValidationError) -> ApiError:
    """A request that failed validation: 400 naming the first bad field, every one listed in `errors`."""
    errors = field_errors(error.errors())
    field, why = errors[0]["field"], errors[0]["message"]
    return ApiError(400, f"Invalid {field}: {why}", field=field, errors=errors)
