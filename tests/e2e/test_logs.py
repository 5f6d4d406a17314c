"""One JSON line per finished task in llm_requests.log; no key and no prompt in any log."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import requests

from ..support.stack import API_KEY, OTHER_KEY, Api, read_json_lines, wait_for_final, wait_until


def test_finished_tasks_are_logged_without_keys_or_prompts(api: Api, log_dir: Path, workdir: Path) -> None:
    # Given a completed task and a failed one, each with a prompt that must never be logged
    secret = f"private-prompt-{uuid.uuid4()}"
    headers = {"X-API-Key": API_KEY}
    ids = []
    for body in ({"prompt": secret, "max_tokens": 3, "user_id": "user-7"}, {"prompt": secret * 40, "max_tokens": 2}):
        ids.append(requests.post(api.url("/generate"), headers=headers, json=body, timeout=5).json()["task_id"])
        wait_for_final(api, ids[-1])

    def lines() -> dict[str, dict[str, object]]:
        found = {line["task_id"]: line for line in read_json_lines(log_dir / "llm_requests.log")}
        return found if all(task_id in found for task_id in ids) else {}

    # Then each has one line with ids, model, tokens, timings and status
    logged = wait_until(lines, 60, "request log lines")
    done, failed = logged[ids[0]], logged[ids[1]]
    assert done["key_id"] == hashlib.sha256(API_KEY.encode()).hexdigest()[:16]
    assert (done["user_id"], done["model"], done["status"]) == ("user-7", "tiny", "completed")
    assert (done["prompt_tokens"], done["completion_tokens"]) == (len(secret), 3)
    assert all(isinstance(done[name], float) for name in ("queue_wait_time", "processing_time", "total_time"))
    assert (failed["status"], failed["error_type"]) == ("failed", "ContextLengthError")
    assert (log_dir / "app.log").exists() and (log_dir / "errors.log").read_text()
    # And no log file, nor any process's output, nor the metrics, holds a key or the prompt
    texts = {path.name: path.read_text(errors="replace") for path in [*log_dir.iterdir(), *workdir.glob("*.out")]}
    texts["/metrics"] = requests.get(api.url("/metrics"), timeout=5).text
    for name, text in texts.items():
        for needle in (secret, API_KEY, OTHER_KEY):
            assert needle not in text, f"{needle[:12]}... found in {name}"
