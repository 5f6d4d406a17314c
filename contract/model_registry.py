"""The models the operator runs, and which API keys may use each: written by the operator from LLMModel
resources and the Secrets they name, read by the api on each request, so changes apply without a restart.

Keys are stored only as SHA-256 digests. A model with no digests is open to every valid key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import asdict, dataclass, field
from typing import Literal

import redis

from .names import MODEL_REGISTRY_KEY

ModelTask = Literal["generate", "embed"]
"""what a model serves: generation (and embeddings from its hidden states), or embeddings only"""


@dataclass(frozen=True)
class RegisteredModel:
    name: str
    """the served model name clients send"""
    resource: str
    """namespace/name of the LLMModel that declares it"""
    key_digests: list[str] = field(default_factory=list)
    max_tokens: int | None = None
    """the model's own default max_tokens, when its LLMModel sets one"""
    temperature: float | None = None
    task: ModelTask = "generate"


def digest(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


# A name belongs to the resource that registered it first: another LLMModel with the same served name would
# take over its key restriction and its queue. Atomic, so two such resources created at once cannot both win.
_CLAIM = """
local found = redis.call('HGET', KEYS[1], ARGV[1])
if found then
  local owner = cjson.decode(found)['resource']
  if owner ~= ARGV[2] then return owner end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return false
"""
_RELEASE = """
local found = redis.call('HGET', KEYS[1], ARGV[1])
if found and cjson.decode(found)['resource'] == ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[1]) end
"""


def publish(client: redis.Redis, model: RegisteredModel) -> str | None:
    """Registers the model; returns the resource that owns its name instead when another one does."""
    owner = client.eval(_CLAIM, 1, MODEL_REGISTRY_KEY, model.name, model.resource, json.dumps(asdict(model)))
    return str(owner) if owner else None


def withdraw(client: redis.Redis, name: str, resource: str) -> None:
    """Unregisters the name, if this resource owns it."""
    client.eval(_RELEASE, 1, MODEL_REGISTRY_KEY, name, resource)


def read(client: redis.Redis) -> dict[str, RegisteredModel]:
    entries: dict[str, str] = client.hgetall(MODEL_REGISTRY_KEY)  # type: ignore[assignment]
    return {name: RegisteredModel(**json.loads(value)) for name, value in entries.items()}


def holds(key_digest: str, models: list[RegisteredModel]) -> bool:
    """Whether one of these models lists the key; every digest is compared, each in constant time."""
    found = False
    for model in models:
        for stored in model.key_digests:
            found |= hmac.compare_digest(key_digest, stored)
    return found


def may_use(key_digest: str, model: RegisteredModel | None) -> bool:
    """Models outside the registry, and registered models without a key list, are open to every valid key."""
    return model is None or not model.key_digests or holds(key_digest, [model])
