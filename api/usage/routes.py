"""GET /v1/organization/usage/completions: tokens and requests in time buckets, as OpenAI's usage API
answers them, by tenant (OpenAI's `project_id`), key and model. A key reads its own usage; a key in
ADMIN_API_KEYS reads every key's."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Literal

from flask import Blueprint, g, request
from pydantic import BaseModel, Field, ValidationError

from contract import usage

from ..http.auth import key_id, require_api_key
from ..http.bodies import respond
from ..http.errors import invalid
from ..services import services
from .shapes import UsageBucket, UsagePage, UsageResult

bp = Blueprint("usage", __name__, url_prefix="/v1")
WIDTHS = {"1m": usage.MINUTE, "1d": usage.DAY}
LIMITS = {"1m": (60, 1440), "1d": (7, 31)}
"""buckets per page by width: (default, most), as OpenAI's"""
GROUPS = ("project_id", "api_key_id", "model")


class UsageQuery(BaseModel):
    start_time: int = Field(ge=0, description="Unix seconds; the first bucket is the one holding it")
    end_time: int | None = Field(None, ge=0, description="Unix seconds, exclusive; default now")
    bucket_width: Literal["1m", "1d"] = "1d"
    group_by: list[Literal["project_id", "api_key_id", "model"]] = Field(default_factory=list)
    limit: int | None = Field(None, ge=1, description="buckets per page (1m: 60 by default, 1440 at most; 1d: 7, 31)")
    page: int | None = Field(None, ge=0, description="next_page of the previous answer")


@bp.get("/organization/usage/completions")
@require_api_key
def completions() -> Any:
    query = _query()
    width, (default, most) = WIDTHS[query.bucket_width], LIMITS[query.bucket_width]
    first = usage.bucket_start(query.start_time if query.page is None else query.page, width)
    end = query.end_time if query.end_time is not None else int(time.time()) + 1
    starts = list(range(first, end, width))
    shown = starts[: min(query.limit or default, most)]
    more = len(starts) > len(shown)
    buckets = [_bucket(start, width, query.group_by) for start in shown]
    return respond(
        UsagePage(data=buckets, has_more=more, next_page=str(starts[len(shown)]) if more else None), nulls=True
    )


def _query() -> UsageQuery:
    args: dict[str, Any] = {name: value for name, value in request.args.items() if name != "group_by"}
    groups = request.args.getlist("group_by") + request.args.getlist("group_by[]")
    args["group_by"] = [group.strip() for value in groups for group in value.split(",") if group.strip()]
    args.pop("group_by[]", None)
    try:
        return UsageQuery.model_validate(args)
    except ValidationError as error:
        raise invalid(error) from None


def _bucket(start: int, width: int, group_by: Sequence[str]) -> UsageBucket:
    sums: dict[tuple[str | None, ...], list[int]] = {}
    for entry in _visible(usage.bucket(services().redis, width, start)):
        who = (entry.tenant, entry.api_key_id, entry.model)
        group = tuple(value if name in group_by else None for name, value in zip(GROUPS, who, strict=True))
        found = sums.setdefault(group, [0, 0, 0])
        for index, value in enumerate((entry.input_tokens, entry.output_tokens, entry.num_model_requests)):
            found[index] += value
    results = [
        UsageResult(**dict(zip(GROUPS, group, strict=True)), input_tokens=i, output_tokens=o, num_model_requests=n)
        for group, (i, o, n) in sorted(sums.items(), key=str)
    ]
    return UsageBucket(start_time=start, end_time=start + width, results=results)


def _visible(entries: list[usage.Usage]) -> list[usage.Usage]:
    admins = {key_id(key) for key in services().settings.admin_api_key_list}
    return entries if g.key_id in admins else [entry for entry in entries if entry.api_key_id == g.key_id]
