"""The error kinds a worker records and the api answers: one enum on both sides, each kind its own answer."""

from __future__ import annotations

import pytest

from api.batches.output import CLOSED
from api.openai.serving import failure
from contract.error_kinds import ErrorKind

from ..support.stack import ROOT


@pytest.mark.parametrize(
    ("kind", "status", "details"),
    [
        (ErrorKind.CONTEXT_LENGTH, 400, {"field": "max_tokens", "code": "context_length_exceeded"}),
        (ErrorKind.REFUSED, 400, {"field": "logit_bias"}),
        (ErrorKind.TIMEOUT, 504, {"code": "TimeoutError"}),
        (ErrorKind.WORKER_LOST, 500, {"code": "WorkerError"}),
        (ErrorKind.CANCELLED, 500, {"code": "Cancelled"}),
        ("KeyError", 500, {"code": "KeyError"}),
    ],
)
def test_each_kind_gets_its_own_answer(kind: str, status: int, details: dict[str, str]) -> None:
    error = failure({"status": "failed", "error_type": kind, "error_message": "logit_bias: 99999 is not a token"})
    assert (error.status_code, error.details) == (status, details)


def test_a_batch_line_closed_unanswered_names_why() -> None:
    assert set(CLOSED) == {ErrorKind.BATCH_CANCELLED, ErrorKind.BATCH_EXPIRED}


def test_the_kinds_users_see_are_documented() -> None:
    documented = (ROOT / "docs" / "api.md").read_text()
    shown = {ErrorKind.TIMEOUT, ErrorKind.CONTEXT_LENGTH, ErrorKind.CANCELLED, ErrorKind.WORKER_LOST}
    assert {kind for kind in shown if f"| `{kind}` |" not in documented} == set()
