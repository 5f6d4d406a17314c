"""The api's settings: access, limits, generation defaults, and how Gunicorn serves it."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from contract.settings import CommonSettings


class ApiSettings(CommonSettings):
    # Access
    api_keys: str = Field("", description="comma-separated API keys the api accepts")
    api_keys_file: Path | None = Field(
        None, description="more keys, one per line or comma-separated; re-read on change"
    )
    admin_api_keys: str = Field(
        "", description="comma-separated keys (each also a valid key) that may read every key's usage; empty: none"
    )
    cors_allowed_origins: str = Field("", description="comma-separated origins browsers may call from; empty: none")
    max_queue_length: int = Field(10_000, ge=1, description="waiting requests per model before 503")
    sse_max_seconds: float = Field(3600.0, gt=0.0, description="longest one SSE connection stays open")
    sse_keepalive_seconds: float = Field(15.0, gt=0.0)
    max_open_streams: int = Field(
        5000, ge=1, le=100_000, description="streams (/stream, streamed or waiting /v1) one Gunicorn worker follows"
    )
    max_open_streams_per_key: int = Field(
        1000, ge=1, le=100_000, description="of those, how many one API key may hold (then 429)"
    )
    rate_limit_per_minute: int = Field(60, ge=1, description="a tenant's requests per minute unless it sets its own")
    rate_limit_burst: int = Field(10, ge=1, description="a tenant's burst unless it sets its own")
    wrong_key_limit_per_minute: int = Field(
        30, ge=1, description="requests with a wrong API key one client address may send a minute; then 429"
    )
    fair_queueing: bool = Field(
        True, description="order waiting requests fairly across tenants; off: first come, first served"
    )
    max_request_bytes: int = Field(1_048_576, ge=1024)
    max_stored_bytes_per_day: int = Field(
        1_073_741_824, ge=1_048_576, description="bytes of task records (parameters, results) one key may cause a day"
    )
    responses_ttl: int = Field(
        86_400, ge=60, le=366 * 86_400, description="seconds a Responses API response is kept after its last change"
    )
    redis_wait_replicas: int = Field(0, ge=0, description="replicas a task must reach before its 202; 0: off")
    # Below the Redis socket timeout (5 s), or the wait itself would read as a Redis failure.
    redis_wait_timeout: float = Field(1.0, gt=0.0, le=4.0, description="seconds to wait for them, else 503")

    # The Batch API: files and batches live in Redis (see docs/api.md, "Batch API"), hence these bounds
    batch_max_file_bytes: int = Field(16 * 1024 * 1024, ge=1024, description="largest uploaded file, in bytes")
    batch_max_uploads_per_key: int = Field(
        2, ge=1, le=100, description="file uploads one key may have in progress at once, per api process"
    )
    batch_max_lines: int = Field(10_000, ge=1, description="most requests in one batch input file")
    batch_max_open: int = Field(4, ge=1, description="batches one API key may have open (not yet final)")
    batch_max_stored_bytes: int = Field(
        256 * 1024 * 1024, ge=1024, description="bytes one API key's files may hold (uploads and results)"
    )
    batch_expiry_seconds: int = Field(86_400, ge=1, description='a batch\'s completion window ("24h")')
    batch_file_ttl: int = Field(30 * 86_400, ge=60, description="seconds a file is kept (uploads and results)")

    # Webhooks (callback_url): signed with WEBHOOK_SECRET, sent only to WEBHOOK_ALLOWED_HOSTS
    webhook_secret: str = Field(
        "", description="the key every API key's webhook signing secret derives from; empty: callback_url refused"
    )
    webhook_concurrency: int = Field(
        8, ge=1, le=256, description="webhook attempts one api process makes at once, at most one per key"
    )
    webhook_previous_secret: str = Field(
        "", description="while rotating WEBHOOK_SECRET, the one before: webhooks carry both signatures"
    )
    webhook_allowed_hosts: str = Field(
        "", description="comma-separated hosts (host, host:port, *.domain) callbacks may go to; empty: none"
    )
    webhook_max_attempts: int = Field(10, ge=1, le=100, description="tries per webhook before it is given up")
    webhook_retry_seconds: float = Field(2.0, gt=0.0, description="wait before the first retry; doubles each time")
    webhook_retry_max_seconds: float = Field(600.0, gt=0.0, description="longest wait between two tries")
    webhook_timeout: float = Field(5.0, gt=0.0, le=60.0, description="seconds a receiver has to answer")

    # Generation defaults, for what a request leaves out
    max_new_tokens: int = Field(512, ge=1, description="max_tokens when a request gives none")
    max_tokens_limit: int = Field(2048, ge=1, description="largest max_tokens a request may ask for")
    temperature: float = Field(0.7, ge=0.0, le=2.0)
    top_p: float = Field(0.9, gt=0.0, le=1.0)

    # Gunicorn (kept here rather than left to GUNICORN_CMD_ARGS: they are read from .env like everything
    # else and validated at start, naming the variable; GUNICORN_CMD_ARGS still overrides them)
    api_host: str = "127.0.0.1"
    api_port: int = Field(8000, ge=1, le=65535)
    api_workers: int = Field(2, ge=1)

    @model_validator(mode="after")
    def _check_consistency(self) -> ApiSettings:
        if self.max_new_tokens > self.max_tokens_limit:
            raise ValueError("MAX_NEW_TOKENS must not exceed MAX_TOKENS_LIMIT")
        return self

    @property
    def webhook_host_list(self) -> list[str]:
        return [host.strip().lower() for host in self.webhook_allowed_hosts.split(",") if host.strip()]

    @property
    def api_key_list(self) -> list[str]:
        return [key.strip() for key in self.api_keys.split(",") if key.strip()]

    @property
    def admin_api_key_list(self) -> list[str]:
        return [key.strip() for key in self.admin_api_keys.split(",") if key.strip()]

    @property
    def cors_origin_list(self) -> list[str]:
        return [origin.strip() for origin in self.cors_allowed_origins.split(",") if origin.strip()]
