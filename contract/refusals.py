"""A request the worker refuses once it sees the model (a token id outside its vocabulary, a JSON schema
the grammar library cannot compile, a parameter its engine cannot honour): the task fails with this
error kind ErrorKind.REFUSED and a message that starts with the field at fault, and the api answers it with
400 naming it."""

from __future__ import annotations


class RequestRefused(ValueError):
    def __init__(self, field: str, why: str) -> None:
        super().__init__(f"{field}: {why}")
        self.field = field
        self.why = why


def parse(message: str) -> tuple[str, str]:
    """(field, why) from a refusal's message."""
    field, _, why = message.partition(": ")
    return field, why
