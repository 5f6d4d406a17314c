"""Which callback URLs the api takes: only hosts WEBHOOK_ALLOWED_HOSTS lists, read as the connecting parser
reads them, never credentials in a URL; and which addresses a name may resolve to before it is called."""

from __future__ import annotations

import ipaddress

import pytest

from api.settings import ApiSettings
from api.webhooks.targets import Target, parse, public, refusal, resolve

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


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254\\.hooks.example.com/x",  # urllib3 connects to 169.254.169.254
        "http://hooks.example.com\\@evil.org/",
        "http://hooks.example.com /x",
        "http://hooks.example.com/\r\nX-Injected: 1",
    ],
)
def test_a_url_that_parsers_could_read_differently_is_refused(url: str) -> None:
    found = refusal(url, SETTINGS)
    assert found is not None and ("backslashes" in found or "differently" in found or "not allowed" in found)


def test_an_address_is_allowed_only_by_an_address_entry_its_mapped_form_included() -> None:
    assert refusal("http://[::ffff:10.0.0.5]/x", SETTINGS) is None  # 10.0.0.5 is listed
    assert "not allowed" in (refusal("http://[::ffff:127.0.0.1]/x", SETTINGS) or "")
    assert "not allowed" in (refusal("http://hooks.example.com.:80/x", SETTINGS) or "")


@pytest.mark.parametrize(
    ("address", "is_public"),
    [
        ("93.184.216.34", True),
        ("2606:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("169.254.169.254", False),  # the cloud metadata service
        ("100.64.0.1", False),  # shared (carrier-grade NAT)
        ("fd00:ec2::254", False),  # AWS's metadata service over IPv6
        ("::ffff:192.168.0.1", False),
        ("224.0.0.1", False),
        ("0.0.0.0", False),
    ],
)
def test_only_global_unicast_addresses_are_public(address: str, is_public: bool) -> None:
    assert public(ipaddress.ip_address(address)) is is_public


def test_a_name_is_resolved_and_an_internal_address_needs_an_address_entry() -> None:
    target = parse("http://localhost:8080/x?y=1")
    assert isinstance(target, Target) and target.path == "/x?y=1" and target.host_header == "localhost:8080"
    refused = resolve(target, SETTINGS)  # localhost:8080 is listed by name, but it resolves to loopback
    assert isinstance(refused, str) and "internal address" in refused
    allowed = ApiSettings(  # type: ignore[call-arg]
        api_keys="k", webhook_secret="s", webhook_allowed_hosts="localhost:8080,127.0.0.0/8,::1", _env_file=None
    )
    addresses = resolve(target, allowed)
    assert not isinstance(addresses, str) and addresses and all(address.is_loopback for address in addresses)
    assert target.pinned(addresses[0]) in ("http://127.0.0.1:8080/x?y=1", "http://[::1]:8080/x?y=1")
    unknown = parse("http://no-such-host.invalid/x")
    assert isinstance(unknown, Target) and "could not be resolved" in str(resolve(unknown, allowed))
