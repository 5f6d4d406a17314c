"""/metrics on the api (several Gunicorn workers) and on a worker: present, and moving after requests."""

from __future__ import annotations

import requests

from ..stack import Api, Process, sample, scrape, submit, wait_for_final, wait_until

P = "llm_service:"


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

    after = wait_until(after_moved, 10, "worker metrics to move")

    def delta(name: str, **extra: str) -> float:
        return sample(after, name, **labels, **extra) - sample(before, name, **labels, **extra)

    assert delta(f"{P}generation_tokens_total") == 7
    assert delta(f"{P}prompt_tokens_total") == len("measure me")
    for histogram in ("time_to_first_token_seconds", "time_per_output_token_seconds", "e2e_request_latency_seconds",
                      "request_queue_time_seconds"):  # fmt: skip
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
