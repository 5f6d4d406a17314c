"""Property-based fuzzing of every route from the api's own /openapi.json with schemathesis (its CLI, the
same as a user would run): no 5xx, and every status, header, content type and body matches the document,
with a valid key, a wrong one and none."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..support.stack import API_KEY, Api, Process, RedisServer, start_api

ST = Path(sys.executable).parent / "st"
# "positive_data_acceptance" is left out: `model` is any string in the document because the models that
# exist change at run time (workers, LLMModel resources), so an unknown name is rightly a 400.
EXCLUDED = "positive_data_acceptance"


@pytest.fixture(scope="module")
def fuzzed_api(
    workdir: Path, redis_server: RedisServer, model_settings: dict[str, object], worker: Process
) -> Iterator[Api]:
    # In front of the session's worker (the /v1 routes wait for results), with short generations so the fuzzing
    # stays quick. The limits (and the wrong-key throttle) are raised so that the input is judged, not the
    # rate; SSE connections end after a second so a stream cannot hang.
    api = start_api(
        workdir,
        redis_server.url(),
        api_keys=API_KEY,
        rate_limit_per_minute=100_000,
        rate_limit_burst=100_000,
        wrong_key_limit_per_minute=100_000,
        sse_max_seconds=1,
        max_tokens_limit=32,
        max_new_tokens=8,
        **model_settings,
    )
    yield api
    api.stop()


@pytest.mark.parametrize("key", [API_KEY, "wrong-key", None], ids=["valid key", "wrong key", "no key"])
def test_every_route_survives_fuzzing_and_keeps_to_the_document(fuzzed_api: Api, key: str | None) -> None:
    command = [
        str(ST),
        "run",
        fuzzed_api.url("/openapi.json"),
        "--checks",
        "all",
        "--exclude-checks",
        EXCLUDED,
        "--max-examples",
        "60",
        "--seed",
        "20261126",
        "--request-timeout",
        "30",
        "--generation-database",
        "none",
        "--no-color",
    ]
    if key:
        command += ["-H", f"X-API-Key: {key}"]
    run = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-2000:]
    assert "No issues found" in run.stdout or "passed" in run.stdout.lower()
