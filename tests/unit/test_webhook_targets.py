"""Which callback URLs the api takes: only hosts WEBHOOK_ALLOWED_HOSTS lists, never credentials in a URL."""

from __future__ import annotations

import pytest

from api.settings import ApiSettings
from api.webhooks.targets import refusal

ALLOWED = "hooks.example.com,*.internal.example.com,localhost:8080,[::1]:9000,10.0.0.5"
SETTINGS = ApiSettings(api_keys="k", webhook_secret="s", webhook_allowed_hosts=ALLOWED, _env_file=None)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/done",
        "http://HOOKS.example.com:8443/x?y=1",
        "https://a.internal.example.com/x",
        "https://b.c.internal.example.com/x",
        "http://localhost:8080/x",
        "http://[::1]:9000/x",
        "http://10.0.0.5/x",
    ],
)
def test_listed_hosts_are_taken(url: str) -> None:
    assert refusal(url, SETTINGS) is None


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("https://evilhooks.example.com/x", "not allowed"),
        ("https://internal.example.com/x", "not allowed"),  # *.domain is its subdomains, not itself
        ("https://x.internal.example.com.evil.org/x", "not allowed"),
        ("http://localhost:8081/x", "not allowed"),
        ("http://localhost/x", "not allowed"),  # port 80, not the 8080 listed
        ("http://[::1]:9001/x", "not allowed"),
        ("http://169.254.169.254/latest/meta-data", "not allowed"),
        ("http://user:pw@hooks.example.com/x", "credentials"),
        ("ftp://hooks.example.com/x", "http:// or https://"),
        ("hooks.example.com/x", "http:// or https://"),
        ("http://hooks.example.com:99999/x", "not a URL"),
        ("https://hooks.example.com/" + "x" * 3000, "longer than"),
    ],
)
def test_other_urls_are_refused_with_the_reason(url: str, why: str) -> None:
    found = refusal(url, SETTINGS)
    assert found is not None and why in found


def test_without_a_secret_or_a_list_nothing_is_taken() -> None:
    no_secret = ApiSettings(api_keys="k", webhook_allowed_hosts=ALLOWED, _env_file=None)  # type: ignore[call-arg]
    assert "WEBHOOK_SECRET" in (refusal("https://hooks.example.com/x", no_secret) or "")
    no_list = ApiSettings(api_keys="k", webhook_secret="s", _env_file=None)  # type: ignore[call-arg]
    assert "not allowed" in (refusal("https://hooks.example.com/x", no_list) or "")
