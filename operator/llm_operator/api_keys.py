"""API keys from the Secrets an LLMModel or an LLMTenant names, as the digests the api compares."""

from __future__ import annotations

import kopf

from contract import model_registry

from . import kube


def digests(namespace: str, refs: list[dict[str, str]]) -> list[str]:
    """The digests of the API keys in the Secrets these references name (a value may hold several,
    comma-separated); a Secret or key missing is retried, as it may be created next."""
    found = []
    for ref in refs:
        value = kube.secret_value(namespace, ref["secretName"], ref["key"])
        if value is None:
            raise kopf.TemporaryError(f"Secret {ref['secretName']} has no key {ref['key']!r}", delay=15)
        found += [model_registry.digest(key.strip()) for key in value.split(",") if key.strip()]
    return sorted(set(found))
