"""/openapi.json, /docs and /redoc: a valid spec that matches the routes and the real responses, and pages
whose scripts and styles all come from the api itself."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from openapi_spec_validator import validate

from api.app import create_app
from api.settings import ApiSettings

from ..support.documented import conforms
from ..support.stack import API_KEY, Api, sse_events, submit, wait_for_final

HEADERS = {"X-API-Key": API_KEY}


@pytest.fixture(scope="module")
def spec(api: Api) -> dict[str, Any]:
    found: dict[str, Any] = requests.get(api.url("/openapi.json"), timeout=5).json()
    return found


def test_the_spec_is_valid_openapi_and_shows_this_servers_limits(spec: dict[str, Any]) -> None:
    validate(spec)
    fields = spec["components"]["schemas"]["GenerateRequest"]["properties"]
    assert fields["max_tokens"]["anyOf"][0]["maximum"] == 2048 and fields["max_tokens"]["default"] == 512
    assert fields["model"]["default"] == "tiny"


def test_the_spec_documents_exactly_the_apis_routes(spec: dict[str, Any], tmp_path: Path) -> None:
    app = create_app(ApiSettings(api_keys="k", log_dir=tmp_path, _env_file=None))  # type: ignore[call-arg]
    served = {
        re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static" and rule.endpoint.split(".")[0] != "docs"
    }
    assert served == set(spec["paths"])


def test_real_responses_conform_to_the_documented_models(api: Api, spec: dict[str, Any]) -> None:
    conforms(spec, "HealthResponse", requests.get(api.url("/health"), timeout=5).json())
    submitted = requests.post(api.url("/generate"), headers=HEADERS, json={"prompt": "doc", "max_tokens": 3}, timeout=5)
    conforms(spec, "QueuedResponse", submitted.json())
    task_id = submitted.json()["task_id"]
    conforms(spec, "CompletedResult", wait_for_final(api, task_id))
    conforms(spec, "StatusResponse", requests.get(api.url(f"/status/{task_id}"), headers=HEADERS, timeout=5).json())
    for event in sse_events(api, task_id):
        conforms(spec, "StreamEvent", event["data"])
    conforms(spec, "ErrorResult", wait_for_final(api, submit(api, prompt="d" * 1100, max_tokens=1)))
    long = submit(api, prompt="e", max_tokens=1000, ignore_eos=True)
    conforms(spec, "StatusResponse", requests.post(api.url(f"/cancel/{long}"), headers=HEADERS, timeout=5).json())
    conforms(spec, "CancelledResult", wait_for_final(api, long))
    bad = requests.post(api.url("/generate"), headers=HEADERS, json={"prompt": ""}, timeout=5).json()
    conforms(spec, "ErrorBody", bad)
    conforms(spec, "ErrorBody", requests.get(api.url("/status/x"), timeout=5).json())


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_pages_load_every_asset_from_the_api_itself(api: Api, page: str) -> None:
    html = requests.get(api.url(page), timeout=5)
    assert html.status_code == 200 and html.headers["Content-Type"].startswith("text/html")
    assert "http://" not in html.text and "https://" not in html.text
    assets = re.findall(r'(?:src|href)="([^"]+)"', html.text)
    assert assets and all(asset.startswith("/docs/") for asset in assets)
    for asset in assets:
        loaded = requests.get(api.url(asset), timeout=5)
        assert loaded.status_code == 200 and len(loaded.content) > 10_000, asset
    assert "/openapi.json" in html.text


def test_openai_and_batch_responses_conform_to_the_documented_models(api: Api, spec: dict[str, Any]) -> None:
    v1 = {"Authorization": f"Bearer {API_KEY}"}

    def post(path: str, **body: Any) -> Any:
        return requests.post(api.url(path), headers=v1, json=body, timeout=60)

    conforms(spec, "ModelList", requests.get(api.url("/v1/models"), headers=v1, timeout=5).json())
    conforms(spec, "Model", requests.get(api.url("/v1/models/tiny"), headers=v1, timeout=5).json())
    conforms(spec, "Completion", post("/v1/completions", prompt="a", max_tokens=2, logprobs=2, echo=True).json())
    chat = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}
    conforms(spec, "ChatCompletion", post("/v1/chat/completions", **chat, logprobs=True, top_logprobs=2).json())
    for path, chunk, body in (
        ("/v1/chat/completions", "ChatCompletionChunk", {**chat, "logprobs": True}),
        ("/v1/completions", "CompletionChunk", {"prompt": "a", "max_tokens": 2}),
    ):
        usage = {"include_usage": True, "continuous_usage_stats": True}
        streamed = post(path, **body, stream=True, stream_options=usage).text.split("\n\n")
        chunks = [frame.removeprefix("data: ") for frame in streamed if frame.startswith("data: {")]
        assert len(chunks) >= 3
        for found in chunks:
            conforms(spec, chunk, json.loads(found))
    conforms(spec, "OpenAIErrorBody", post("/v1/completions", prompt="a", max_tokens=0).json())
    line = {"custom_id": "a", "method": "POST", "url": "/v1/completions", "body": {"prompt": "x", "max_tokens": 2}}
    files = {"file": ("in.jsonl", json.dumps(line) + "\n")}
    uploaded = requests.post(api.url("/v1/files"), headers=v1, files=files, data={"purpose": "batch"}, timeout=10)
    conforms(spec, "FileObject", uploaded.json())
    batch = post(
        "/v1/batches", input_file_id=uploaded.json()["id"], endpoint="/v1/completions", completion_window="24h"
    )
    conforms(spec, "BatchObject", batch.json())
    conforms(spec, "BatchList", requests.get(api.url("/v1/batches"), headers=v1, timeout=5).json())
    conforms(spec, "FileList", requests.get(api.url("/v1/files"), headers=v1, timeout=5).json())
    answered = post("/v1/responses", input="hi", max_output_tokens=2, metadata={"k": "v"}).json()
    conforms(spec, "ResponseObject", answered)
    items = requests.get(api.url(f"/v1/responses/{answered['id']}/input_items"), headers=v1, timeout=5)
    conforms(spec, "InputItemList", items.json())
    gone = requests.delete(api.url(f"/v1/responses/{answered['id']}"), headers=v1, timeout=5)
    conforms(spec, "DeletedResponse", gone.json())
    other = requests.post(api.url("/v1/files"), headers=v1, files=files, data={"purpose": "batch"}, timeout=10)
    deleted = requests.delete(api.url(f"/v1/files/{other.json()['id']}"), headers=v1, timeout=5)
    conforms(spec, "DeletedFile", deleted.json())
    query = {"start_time": int(time.time()) - 86_400, "group_by": "model"}  # the session key has used some
    found = requests.get(api.url("/v1/organization/usage/completions"), headers=v1, params=query, timeout=5)
    conforms(spec, "UsagePage", found.json())
