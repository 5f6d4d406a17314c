"""Where a webhook may go. Outbound requests to any host a client names would let it make this service call
its own network (server-side request forgery), so only hosts WEBHOOK_ALLOWED_HOSTS lists are taken:
`host` (any port), `host:port`, or `*.domain` (its subdomains). Checked when the request is accepted, and
again before each attempt (the list may have changed since)."""

from __future__ import annotations

from urllib.parse import urlsplit

from ..http.errors import ApiError
from ..settings import ApiSettings

MAX_URL_LENGTH = 2048


def refusal(url: str, settings: ApiSettings) -> str | None:
    """Why the URL may not be called back, or None when it may."""
    if not settings.webhook_secret:
        return "webhooks are off on this service (WEBHOOK_SECRET is not set)"
    if len(url) > MAX_URL_LENGTH:
        return f"longer than {MAX_URL_LENGTH} characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        return f"not a URL ({error})"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "an http:// or https:// URL with a host is required"
    if parts.username or parts.password:
        return "credentials in the URL are not taken; authenticate the webhook by its signature"
    host = parts.hostname.lower()
    port = port or (443 if parts.scheme == "https" else 80)
    if not any(_matches(entry, host, port) for entry in settings.webhook_host_list):
        return f"host {host!r} is not allowed by WEBHOOK_ALLOWED_HOSTS"
    return None


def check(url: str, settings: ApiSettings, field: str = "callback_url") -> str:
    why = refusal(url, settings)
    if why is not None:
        raise ApiError(400, f"Invalid {field}: {why}", field=field)
    return url


def _matches(entry: str, host: str, port: int) -> bool:
    """`entry` read as a URL's authority, so `[::1]:8080` and `host:443` parse as they would in a URL."""
    try:
        parts = urlsplit(f"//{entry}")
        name, wanted_port = (parts.hostname or "").lower(), parts.port
    except ValueError:
        return False  # a malformed entry allows nothing
    if wanted_port is not None and wanted_port != port:
        return False
    if name.startswith("*."):
        return host.endswith(name[1:])
    return host == name
