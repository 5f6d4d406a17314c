"""The least a submit endpoint must do, as the reference row of bench/submit.py: check the key, count the
rate limit (flask-limiter, moving window, in Redis), write the task record (one HSET), enqueue the Dramatiq
message. Served by Gunicorn with the api's own worker class and worker count.

    REDIS_URL=redis://127.0.0.1:6379/0 gunicorn -k gevent -w 2 -b 127.0.0.1:8001 bench.minimal_app:app
"""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

import redis
from dramatiq import Message
from dramatiq.brokers.redis import RedisBroker
from flask import Flask, request
from flask_limiter import Limiter

KEY = os.environ.get("API_KEYS", "test-key-123")
URL = os.environ["REDIS_URL"]
app = Flask(__name__)
client = redis.Redis.from_url(URL, decode_responses=True)
broker = RedisBroker(url=URL, namespace="dramatiq")
limiter = Limiter(
    key_func=lambda: request.headers.get("X-API-Key", ""), app=app, storage_uri=URL, strategy="moving-window"
)


@app.post("/generate")
@limiter.limit("10000000 per minute;1000000 per 6 seconds")
def generate() -> Any:
    if request.headers.get("X-API-Key") != KEY:
        return {"error": "Invalid API key", "status_code": 401}, 401
    task_id = str(uuid.uuid4())
    client.hset(f"llm:task:{task_id}", mapping={"status": "queued", "params": json.dumps(request.get_json())})
    broker.enqueue(Message(queue_name="llm-bench", actor_name="generate_text", args=(task_id,), kwargs={}, options={}))
    return {"status": "queued", "task_id": task_id, "message": "queued"}, 202
