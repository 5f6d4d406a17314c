"""/metrics on the api (several Gunicorn workers) and on a worker: present, and moving after requests."""

from __future__ import annotations

import json
import re
from pathlib import Path

import requests

from ..support.stack import (
    API_KEY,
    ROOT,
    Api,
    Process,
    RedisServer,
    Started,
    sample,
    scrape,
    submit,
    wait_for_final,
    wait_until,
)

P = "llm_service:"
DASHBOARD = ROOT / "helm" / "llm-service" / "dashboards" / "llm-service.json"
ALERTS = ROOT / "helm" / "llm-service" / "templates" / "monitoring.yaml"


def test_api_metrics_add_up_across_gunicorn_workers_and_count_tasks(api: Api) -> None:
    # Given a scrape before
    before = scrape(api.url("/metrics"))
    # When 20 health checks (spread over both Gunicorn workers) and one task go through
    for _ in range(20):
        assert requests.get(api.url("/health"), timeout=5).status_code == 200
    task_id = submit(api, prompt="count me", max_tokens=5, temperature=0)
    wait_for_final(api, task_id)
    after = scrape(api.url("/metrics"))
    # Then request counts by route and status moved by exactly what was sent
    health = {"url_rule": "/health", "status": "200"}
    moved = sample(after, "flask_http_request_duration_seconds_count", **health) - sample(
        before, "flask_http_request_duration_seconds_count", **health
    )
    assert moved == 20
    generated = {"url_rule": "/generate", "status": "202"}
    assert sample(after, "flask_http_request_duration_seconds_count", **generated) > sample(
        before, "flask_http_request_duration_seconds_count", **generated
    )
    # And the task counters (from Redis, covering every worker) moved, with queue depth per model
    assert sample(after, f"{P}tasks_submitted_total", model_name="tiny") >= 1 + sample(
        before, f"{P}tasks_submitted_total", model_name="tiny"
    )
    assert sample(after, f"{P}tasks_finished_total", model_name="tiny", status="completed") >= 1 + sample(
        before, f"{P}tasks_finished_total", model_name="tiny", status="completed"
    )
    assert (f"{P}queue_depth", frozenset({("model_name", "tiny"), ("state", "waiting")})) in after
    assert sample(after, f"{P}workers", model_name="tiny") >= 1  # the session's worker, from its heartbeat


def test_worker_metrics_follow_generation(api: Api, worker: Process) -> None:
    labels = {"model_name": "tiny"}
    before = scrape(worker.metrics_url)
    task_id = submit(api, prompt="measure me", max_tokens=7, temperature=0)
    wait_for_final(api, task_id)

    def after_moved() -> dict[tuple[str, frozenset[tuple[str, str]]], float] | None:
        found = scrape(worker.metrics_url)
        return (
            found
            if sample(found, f"{P}generation_tokens_total", **labels)
            > sample(before, f"{P}generation_tokens_total", **labels)
            else None
        )

    after = wait_until(after_moved, 60, "worker metrics to move")

    def delta(name: str, **extra: str) -> float:
        return sample(after, name, **labels, **extra) - sample(before, name, **labels, **extra)

    assert delta(f"{P}generation_tokens_total") == 7
    assert delta(f"{P}prompt_tokens_total") == len("measure me")
    for histogram in (
        "time_to_first_token_seconds",
        "time_per_output_token_seconds",
        "e2e_request_latency_seconds",
        "request_queue_time_seconds",
    ):
        assert delta(f"{P}{histogram}_count") == 1, histogram
    assert delta(f"{P}request_success_total", finished_reason="length") == 1
    assert (f"{P}num_requests_running", frozenset(labels.items())) in after
    assert (f"{P}num_requests_waiting", frozenset(labels.items())) in after
    assert sample(after, "dramatiq_messages_total") > sample(before, "dramatiq_messages_total")


def test_a_failed_generation_is_counted_by_error_type(api: Api, worker: Process) -> None:
    before = scrape(worker.metrics_url)
    wait_for_final(api, submit(api, prompt="z" * 1100, max_tokens=2))

    def failures() -> float:
        return sample(scrape(worker.metrics_url), f"{P}request_failure_total", error_type="ContextLengthError")

    wait_until(
        lambda: failures() > sample(before, f"{P}request_failure_total", error_type="ContextLengthError"), 10, "x"
    )


def dashboard_metric_names() -> set[str]:
    """Every metric a query of the Grafana dashboard (panels and variables) reads."""
    dashboard = json.loads(DASHBOARD.read_text())
    queries = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    queries += [variable["definition"] for variable in dashboard["templating"]["list"] if "definition" in variable]
    names = set()
    for query in queries:
        names |= set(re.findall(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*[{\[]", query))  # a selector: name{...} or name[...]
        names |= set(re.findall(r"label_values\(([a-zA-Z_:][a-zA-Z0-9_:]*)", query))
    return names


def test_every_metric_the_dashboard_charts_is_exported(
    started: Started, redis_server: RedisServer, model_settings: dict[str, object], worker: Process
) -> None:
    # Given an api whose limit is two requests, in front of the session's worker
    api = started.api(
        redis_server.url(), api_keys=API_KEY, rate_limit_per_minute=2, rate_limit_burst=2, **model_settings
    )
    charted = dashboard_metric_names()
    wait_for_final(api, submit(api, prompt="fine", max_tokens=3))
    wait_for_final(api, submit(api, prompt="z" * 1100, max_tokens=2))
    refused = requests.post(api.url("/generate"), headers={"X-API-Key": API_KEY}, json={"prompt": "x"}, timeout=5)
    assert refused.status_code == 429

    def exported_names() -> set[str]:
        return {name for name, _ in scrape(api.url("/metrics"))} | {name for name, _ in scrape(worker.metrics_url)}

    # (a worker's counters move just after the record is final)
    exported = wait_until(lambda: (names := exported_names()) >= charted and names, 60, "worker metrics")
    # Then every name the dashboard and the chart's alerts query is in a scrape of the api or the worker
    alerted = set(re.findall(r"\b((?:llm_service:|flask_)[a-z_]+)", ALERTS.read_text()))
    assert len(charted) >= 10 and len(alerted) >= 3
    assert charted <= exported, f"charted but not exported: {sorted(charted - exported)}"
    assert alerted <= exported, f"alerted on but not exported: {sorted(alerted - exported)}"


def test_the_api_makes_a_named_metrics_folder_that_does_not_exist(
    started: Started, redis_server: RedisServer, tmp_path: Path
) -> None:
    # As in a pod: PROMETHEUS_MULTIPROC_DIR names a folder on an empty volume (every worker failed to boot)
    folder = tmp_path / "empty-volume" / "metrics"
    api = started.api(redis_server.url(), api_keys=API_KEY, prometheus_multiproc_dir=folder)
    response = requests.get(api.url("/metrics"), timeout=5)
    assert response.status_code == 200 and "flask_http_request" in response.text
    assert any(folder.iterdir())


def test_a_repeated_system_prompt_is_served_from_the_prefix_cache(api: Api, worker: Process) -> None:
    # Given a conversation's system prompt, long enough for several cache blocks, sent once
    system = {"role": "system", "content": "You answer in rhymes about the sea and nothing else. " * 4}
    v1 = {"Authorization": f"Bearer {API_KEY}"}

    def ask(question: str) -> dict[str, object]:
        body = {"model": "tiny", "messages": [system, {"role": "user", "content": question}], "max_tokens": 3}
        answer = requests.post(api.url("/v1/chat/completions"), headers=v1, json=body, timeout=60)
        assert answer.status_code == 200, answer.text
        usage: dict[str, object] = answer.json()["usage"]
        return usage

    first = ask("What is a wave?")
    before = scrape(worker.metrics_url)
    # When the next turn sends it again
    second = ask("And a tide?")
    # Then the worker took that prefix from its cache, says so in OpenAI's usage and counts it on /metrics
    cached = second["prompt_tokens_details"]["cached_tokens"]  # type: ignore[index]
    assert cached >= 64 and cached < second["prompt_tokens"]  # type: ignore[operator]
    assert first["prompt_tokens_details"]["cached_tokens"] < cached  # type: ignore[index]

    def hits_moved() -> float:
        return sample(scrape(worker.metrics_url), f"{P}prefix_cache_hits_total", model_name="tiny") - sample(
            before, f"{P}prefix_cache_hits_total", model_name="tiny"
        )

    assert wait_until(hits_moved, 30, "prefix cache hits on the worker's /metrics") == cached
