"""The API document's JavaScript, run for real: the EventSource example in headless Chromium, the Node.js
(axios) example, and Swagger UI's "Try it out" with an API key. `make test` installs Chromium, Node.js
and tests/js's packages (scripts/ensure_test_tools.sh)."""

from __future__ import annotations

import json
import os
import subprocess

from ..support.stack import API_KEY, ROOT, Api, submit, wait_for_final

JS = ROOT / "tests" / "js"


def node(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    assert (JS / "node_modules").is_dir(), "run scripts/ensure_test_tools.sh (make test does) first"
    run = subprocess.run(
        ["node", *args], cwd=JS, capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})}
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return run


def test_the_documents_eventsource_example_prints_the_result_in_a_browser(api: Api) -> None:
    # Given a task and the document's EventSource example, unchanged but for its URL
    task_id = submit(api, prompt="from a browser", max_tokens=20, temperature=0)
    # When Chromium runs it on a page of the api's origin
    lines = [
        json.loads(line)
        for line in node("eventsource_in_browser.mjs", api.base_url, task_id, API_KEY).stdout.splitlines()
    ]
    # Then it logged the statuses as they came and then the result
    logged = [line for line in lines if not line.startswith("Failed to load resource")]
    assert logged[-2] == "completed Task completed successfully"
    assert logged[-1] == f"Result: {wait_for_final(api, task_id)['result']}"
    assert any(line.startswith("processing ") for line in logged)


def test_the_documents_node_example_runs_unchanged(api: Api) -> None:
    output = node("axios_example.cjs", env={"BASE_URL": api.base_url}).stdout
    assert output.startswith("Task ID: ") and "\nResult: " in output and "completion_tokens:" in output


def test_swagger_ui_try_it_out_works_with_an_api_key_and_no_internet(api: Api) -> None:
    outcome = json.loads(node("swagger_try_it_out.mjs", api.base_url, API_KEY).stdout)
    assert outcome["status"] == "202", outcome
    assert json.loads(outcome["body"])["status"] == "queued"
    assert outcome["external"] == []  # every script, style and request stayed on the api
