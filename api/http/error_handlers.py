"""Every error leaves as JSON: {"error": ..., "status_code": ...} plus details where they help; under /v1/
in OpenAI's shape."""

from __future__ import annotations

import logging
from typing import Any

import redis
from flask import Flask, Response, has_request_context, request
from werkzeug.exceptions import HTTPException

from . import rate_limit
from .bodies import respond
from .errors import OPENAI_PREFIX, ApiError, ErrorBody, openai_error
from .metrics import RATE_LIMIT_REJECTIONS

logger = logging.getLogger(__name__)
REDIS_RETRY_AFTER_SECONDS = 5


def error_response(status_code: int, message: str, **details: Any) -> Response:
    if has_request_context() and request.path.startswith(OPENAI_PREFIX):
        response = respond(openai_error(status_code, message, details), nulls=True)
    else:
        response = respond(ErrorBody(error=message, status_code=status_code, **details))
    response.status_code = status_code
    return response


def init_app(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(error: ApiError) -> Response:
        response = error_response(error.status_code, error.message, **error.details)
        if error.retry_after is not None:
            response.headers["Retry-After"] = str(error.retry_after)
        response.headers.update(error.headers)
        return response

    @app.errorhandler(429)
    def rate_limited(error: HTTPException) -> Response:
        # The body docs/api.md promises, exactly, and when to come back.
        RATE_LIMIT_REJECTIONS.labels(request.url_rule.rule if request.url_rule else "unknown").inc()
        response = error_response(429, "Rate limit exceeded")
        wait = rate_limit.retry_after()
        response.headers["Retry-After"] = str(wait)
        if request.path.startswith(OPENAI_PREFIX):
            response.headers.update(rate_limit.openai_headers(wait))
        return response

    @app.errorhandler(413)
    def too_large(error: HTTPException) -> Response:
        limit = app.config.get("MAX_CONTENT_LENGTH")
        return error_response(413, f"Request body too large: the limit is {limit} bytes", field="body")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        response = error_response(error.code or 500, error.name)
        allowed = getattr(error, "valid_methods", None)
        if allowed:  # 405 must say which methods the route has (RFC 9110)
            response.headers["Allow"] = ", ".join(allowed)
        return response

    @app.errorhandler(redis.RedisError)
    def redis_down(error: redis.RedisError) -> Response:
        logger.error("redis unavailable: %s", error)
        # A Redis at its maxmemory (noeviction, as the chart sets it) refuses writes with an OOM error
        full = isinstance(error, redis.ResponseError) and "maxmemory" in str(error)
        why = "the queue (Redis) is full" if full else "the queue (Redis) cannot be reached"
        response = error_response(503, f"Service unavailable: {why}; retry later")
        response.headers["Retry-After"] = str(REDIS_RETRY_AFTER_SECONDS)
        return response

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        logger.exception("unhandled error")
        return error_response(500, "Internal server error")
