"""The usage API's response objects, in the shape of OpenAI's completions usage API (buckets of results).
A tenant is what OpenAI calls a project: `project_id` is the tenant's name. Fields OpenAI has and this
service does not track (audio, users, service tiers) are left out."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class UsageResult(BaseModel):
    object: Literal["organization.usage.completions.result"] = "organization.usage.completions.result"
    input_tokens: int
    output_tokens: int
    input_cached_tokens: int = 0
    num_model_requests: int
    project_id: str | None = None
    """with group_by=project_id: the tenant"""
    api_key_id: str | None = None
    """with group_by=api_key_id"""
    model: str | None = None
    """with group_by=model"""


class UsageBucket(BaseModel):
    object: Literal["bucket"] = "bucket"
    start_time: int
    end_time: int
    results: list[UsageResult]


class UsagePage(BaseModel):
    object: Literal["page"] = "page"
    data: list[UsageBucket]
    has_more: bool
    next_page: str | None
