"""A small Kubernetes REST client for tests: enough to read, create, dry-run and delete any object, with
paths found through the API server's own discovery (so custom resources work too)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import requests
import yaml

from tests.support.stack import wait_until


def is_ready(obj: dict[str, Any]) -> bool:
    """A pod's or a node's Ready condition is True."""
    conditions = obj.get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


class KubeError(RuntimeError):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"{status}: {body.get('message', body)}")
        self.status = status
        self.body = body


class Kube:
    def __init__(self, server: str, certificates: Path) -> None:
        self.server = server
        self.session = requests.Session()
        self.session.cert = (str(certificates / "admin.crt"), str(certificates / "admin.key"))
        self.session.verify = str(certificates / "ca.crt")
        self.session.trust_env = False  # else REQUESTS_CA_BUNDLE in the environment wins over verify

    def request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self.session.request(method, self.server + path, timeout=30, **kwargs)
        body = response.json() if response.content else {}
        if response.status_code >= 400:
            raise KubeError(response.status_code, body)
        return body  # type: ignore[no-any-return]

    @cache  # noqa: B019 - one client per test bed, and discovery does not change under a test
    def _resource(self, api_version: str, kind: str) -> tuple[str, str, bool]:
        prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        for resource in self.request("GET", prefix)["resources"]:
            if resource["kind"] == kind and "/" not in resource["name"]:
                return prefix, resource["name"], resource["namespaced"]
        raise KeyError(f"{api_version} {kind} is not served")

    def path(self, api_version: str, kind: str, namespace: str, name: str | None = None) -> str:
        prefix, plural, namespaced = self._resource(api_version, kind)
        collection = f"{prefix}/namespaces/{namespace}/{plural}" if namespaced else f"{prefix}/{plural}"
        return f"{collection}/{name}" if name else collection

    def get(self, api_version: str, kind: str, name: str, namespace: str = "default") -> dict[str, Any]:
        return self.request("GET", self.path(api_version, kind, namespace, name))

    def find(self, api_version: str, kind: str, name: str, namespace: str = "default") -> dict[str, Any] | None:
        """The object, or None when it is not there: one read, so it cannot vanish between two."""
        try:
            return self.get(api_version, kind, name, namespace)
        except KubeError as error:
            if error.status == 404:
                return None
            raise

    def exists(self, api_version: str, kind: str, name: str, namespace: str = "default") -> bool:
        return self.find(api_version, kind, name, namespace) is not None

    def create(self, body: dict[str, Any], namespace: str = "default", dry_run: bool = False) -> dict[str, Any]:
        """Strict field validation: an unknown or misplaced field is an error, not silently dropped."""
        params = {"fieldValidation": "Strict", **({"dryRun": "All"} if dry_run else {})}
        path = self.path(body["apiVersion"], body["kind"], body["metadata"].get("namespace", namespace))
        return self.request("POST", path, json=body, params=params)

    def patch(
        self,
        api_version: str,
        kind: str,
        name: str,
        body: dict[str, Any],
        namespace: str = "default",
        patch_type: str = "merge",
    ) -> dict[str, Any]:
        headers = {"Content-Type": f"application/{patch_type}-patch+json"}
        return self.request("PATCH", self.path(api_version, kind, namespace, name), json=body, headers=headers)

    def delete(self, api_version: str, kind: str, name: str, namespace: str = "default") -> None:
        self.request("DELETE", self.path(api_version, kind, namespace, name))

    def list(self, api_version: str, kind: str, namespace: str = "default", labels: str = "") -> list[dict[str, Any]]:
        found = self.request("GET", self.path(api_version, kind, namespace), params={"labelSelector": labels})
        return found["items"]  # type: ignore[no-any-return]

    def ensure_namespace(self, name: str) -> None:
        if not self.exists("v1", "Namespace", name):
            self.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

    def apply_crds(self, paths: list[Path]) -> None:
        """Creates each CRD unless it exists, and waits until the API server serves it."""
        for path in paths:
            crd = yaml.safe_load(path.read_text())
            name = crd["metadata"]["name"]
            if not self.exists("apiextensions.k8s.io/v1", "CustomResourceDefinition", name):
                self.create(crd)
            wait_until(lambda name=name: self.established(name), 30, f"CRD {name} established")
        self.forget()

    def established(self, name: str) -> bool:
        crd = self.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", name)
        conditions = (crd.get("status") or {}).get("conditions") or []
        return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)

    def forget(self) -> None:
        """Drops cached discovery, after CRDs change."""
        self._resource.cache_clear()
