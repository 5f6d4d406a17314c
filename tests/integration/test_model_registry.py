"""The model registry on a real Redis: a served name belongs to the LLMModel that registered it first."""

from __future__ import annotations

import uuid

import redis

from contract import model_registry


def test_a_served_name_belongs_to_the_resource_that_registered_it_first(redis_client: redis.Redis) -> None:
    first = model_registry.RegisteredModel(name=f"shared-{uuid.uuid4()}", resource="ns/first")
    assert model_registry.publish(redis_client, first) is None
    assert model_registry.publish(redis_client, first) is None  # again, by its owner: fine
    second = model_registry.RegisteredModel(name=first.name, resource="ns/second", key_digests=["x"])
    assert model_registry.publish(redis_client, second) == "ns/first"
    assert model_registry.read(redis_client)[first.name] == first  # the first's entry, untouched
    model_registry.withdraw(redis_client, first.name, "ns/second")  # not its own: nothing happens
    assert first.name in model_registry.read(redis_client)
    model_registry.withdraw(redis_client, first.name, "ns/first")
    assert first.name not in model_registry.read(redis_client)
