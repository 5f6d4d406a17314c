from __future__ import annotations

import re

import pytest

from api.http.rate_limit import limit_string
from contract.names import model_slug, queue_name

DRAMATIQ_QUEUE_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9._-]*")


@pytest.mark.parametrize(
    ("model", "slug"),
    [
        ("gpt2", "gpt2"),
        ("meta-llama/Llama-3.1-8B-Instruct", "meta-llama-llama-3-1-8b-instruct"),
        ("models/tiny-random-gpt2", "models-tiny-random-gpt2"),
        ("  Odd__Name!! ", "odd-name"),
    ],
)
def test_queue_names_are_stable_slugs_dramatiq_accepts(model: str, slug: str) -> None:
    assert model_slug(model) == slug
    assert DRAMATIQ_QUEUE_NAME.fullmatch(queue_name(model))


def test_a_model_id_without_letters_or_digits_is_refused() -> None:
    with pytest.raises(ValueError, match="queue"):
        queue_name("///")


@pytest.mark.parametrize(
    ("per_minute", "burst", "expected"),
    [
        (60, 10, "60 per minute;10 per 10 seconds"),
        (120, 10, "120 per minute;10 per 5 seconds"),
        (60, 1, "60 per minute;1 per 1 seconds"),
    ],
)
def test_burst_window_refills_at_the_per_minute_rate(per_minute: int, burst: int, expected: str) -> None:
    assert limit_string(per_minute, burst) == expected


def test_the_api_never_imports_torch() -> None:
    import subprocess
    import sys

    code = "import sys, api.app, contract.task_store; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
