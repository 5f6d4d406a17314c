"""A model's own generation defaults (from its LLMModel, published by the operator) win over the api's."""

from __future__ import annotations

import redis

from contract import model_registry

from ..support.stack import Api, submit, wait_for_final


def test_an_omitted_max_tokens_takes_the_registered_models_default(api: Api, redis_client: redis.Redis) -> None:
    entry = model_registry.RegisteredModel(name="tiny", resource="test/tiny", max_tokens=7, temperature=0.0)
    model_registry.publish(redis_client, entry)
    try:
        done = wait_for_final(api, submit(api, prompt="defaults please"))
        assert done["metrics"]["completion_tokens"] == 7  # the api's own default is 512
        assert wait_for_final(api, submit(api, prompt="mine", max_tokens=3))["metrics"]["completion_tokens"] == 3
    finally:
        model_registry.withdraw(redis_client, "tiny", entry.resource)
    assert wait_for_final(api, submit(api, prompt="after", max_tokens=None))["metrics"]["completion_tokens"] != 7
