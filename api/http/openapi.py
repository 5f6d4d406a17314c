"""The probes' and /metrics' part of the OpenAPI document."""

from __future__ import annotations

from typing import Any

from ..docs.components import Components, content
from ..settings import ApiSettings
from .health import HealthResponse, LiveResponse


def paths(settings: ApiSettings, c: Components) -> dict[str, Any]:
    return {
        "/health": {
            "get": {
                "operationId": "health",
                "summary": "Is Redis reachable; which models live workers serve",
                "responses": {
                    "200": c.json(HealthResponse, "Healthy, or degraded (no worker for the default model)"),
                    "503": c.json(HealthResponse, "Unhealthy: Redis unreachable"),
                },
            }
        },
        "/livez": {
            "get": {
                "operationId": "live",
                "summary": "Liveness: the process answers (readiness, Redis included, is /health)",
                "responses": {"200": c.json(LiveResponse, "Alive")},
            }
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "summary": "Prometheus metrics",
                "responses": {"200": content("text/plain", {"type": "string"}, "Prometheus text format")},
            }
        },
    }
