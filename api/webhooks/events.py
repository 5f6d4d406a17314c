"""A webhook's body: an event in OpenAI's webhook shape (`id`, `object: "event"`, `created_at`, `type`,
`data`), so that the openai client's `webhooks.unwrap` reads the Batch API's events as OpenAI's own. `data`
is the batch object for `batch.*` events (OpenAI's carry its `id`; the whole object is a superset), and the
task's `/result` body for `task.*` events, which are this service's own."""

from __future__ import annotations

import json
import time
from typing import Any


def event_body(event_id: str, event_type: str, data: dict[str, Any]) -> str:
    event = {"id": event_id, "object": "event", "created_at": int(time.time()), "type": event_type, "data": data}
    return json.dumps(event)
