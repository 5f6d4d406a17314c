"""Gunicorn's own error answers in the api's error shape. Gunicorn refuses some requests before Flask sees
them (a request line or a header too large, a malformed request line or header) and answers those with an
HTML page of its own; every other error of the api is JSON, so clients parse these the same way."""

from __future__ import annotations

import socket

import gunicorn.util

from .errors import ErrorBody

# The part of the request Gunicorn refused, by the status it answers with; the message says why.
FIELDS = {414: "request line", 431: "headers"}


def write_json_error(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
    """Same signature as gunicorn.util.write_error, which it replaces."""
    error = ErrorBody(error=f"{reason}: {mesg}", status_code=status_int, field=FIELDS.get(status_int))
    body = error.model_dump_json(exclude_none=True).encode()
    head = f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
    head += f"Content-Length: {len(body)}\r\n\r\n"
    gunicorn.util.write_nonblock(sock, head.encode("latin-1") + body)


def answer_in_json() -> None:
    # Gunicorn's workers call util.write_error through the module, so replacing the attribute is enough.
    gunicorn.util.write_error = write_json_error
