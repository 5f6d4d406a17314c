"""Where a webhook may go. Outbound requests to any host a client names would let it make this service call
its own network (server-side request forgery), so a callback is taken only when WEBHOOK_ALLOWED_HOSTS
allows it, in two steps:

- **By name, when the request is accepted** (and again before each attempt: the list may have changed).
  Entries are names, `host` (any port), `host:port` or `*.domain` (its subdomains), and addresses, an IP
  (`10.0.0.5`, `[::1]:9000`, with or without a port) or a network (`10.0.0.0/8`). A URL naming a host is
  taken when a name entry matches it; a URL naming an IP, when an address entry covers it. The URL is read
  with urllib3's parser, the one that connects, and refused when Python's own parser reads another host
  (a backslash, for one, is where the two part ways), so what is checked is what is called.
- **By address, before each attempt.** The name is resolved, and every address must be public (global
  unicast) unless an address entry covers it: loopback, private, link-local (the cloud metadata service at
  169.254.169.254 included), shared and reserved addresses are refused otherwise. The request then goes to
  the address that was checked (`Target.pinned`), so a name that resolves elsewhere a moment later (DNS
  rebinding) changes nothing.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from ..http.errors import ApiError
from ..settings import ApiSettings

MAX_URL_LENGTH = 2048
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    """lowercase, without brackets"""
    port: int
    path: str
    """the path and query, as urllib3 sends them"""

    @property
    def literal(self) -> Address | None:
        try:
            return ipaddress.ip_address(self.host)
        except ValueError:
            return None

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == default else f"{name}:{self.port}"

    def pinned(self, address: Address) -> str:
        """The URL at the checked address (the name goes in the Host header, and in TLS's SNI)."""
        at = f"[{address}]" if address.version == 6 else str(address)
        return f"{self.scheme}://{at}:{self.port}{self.path}"


def parse(url: str) -> Target | str:
    """The URL's parts, or why it cannot be a callback."""
    if len(url) > MAX_URL_LENGTH:
        return f"longer than {MAX_URL_LENGTH} characters"
    if any(char == "\\" or char.isspace() or ord(char) < 32 for char in url):
        return "backslashes, spaces and control characters are not taken in a callback URL"
    try:
        found, other = parse_url(url), urlsplit(url)
        other_port = other.port
    except (LocationParseError, ValueError) as error:
        return f"not a URL ({error})"
    if found.scheme not in ("http", "https") or not found.host:
        return "an http:// or https:// URL with a host is required"
    if found.auth or other.username or other.password:
        return "credentials in the URL are not taken; authenticate the webhook by its signature"
    host = found.host.lower().strip("[]")
    if host != (other.hostname or "").lower() or found.port != other_port:
        return "the URL reads differently to different parsers"
    path = (found.path or "/") + (f"?{found.query}" if found.query is not None else "")
    return Target(found.scheme, host, found.port or (443 if found.scheme == "https" else 80), path)


def refusal(url: str, settings: ApiSettings) -> str | None:
    """Why the URL may not be called back (by its name, or its literal address), or None when it may."""
    if not settings.webhook_secret:
        return "webhooks are off on this service (WEBHOOK_SECRET is not set)"
    target = parse(url)
    if isinstance(target, str):
        return target
    entries = _entries(settings)
    literal = target.literal
    if literal is not None:
        if not any(entry.covers(literal, target.port) for entry in entries):
            return f"address {target.host} is not allowed by WEBHOOK_ALLOWED_HOSTS"
    elif not any(entry.names(target.host, target.port) for entry in entries):
        return f"host {target.host!r} is not allowed by WEBHOOK_ALLOWED_HOSTS"
    return None


def check(url: str, settings: ApiSettings, field: str = "callback_url") -> str:
    why = refusal(url, settings)
    if why is not None:
        raise ApiError(400, f"Invalid {field}: {why}", field=field)
    return url


def resolve(target: Target, settings: ApiSettings) -> list[Address] | str:
    """The addresses to call, in the resolver's order, once every one has passed; or why none may be."""
    try:
        found = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        return f"{target.host!r} could not be resolved ({error})"
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found]
    entries = _entries(settings)
    for address in addresses:
        if not public(address) and not any(entry.covers(address, target.port) for entry in entries):
            return f"{target.host!r} resolves to {address}, an internal address no WEBHOOK_ALLOWED_HOSTS entry allows"
    if not addresses:
        return f"{target.host!r} resolves to no address"
    return list(dict.fromkeys(addresses))


def _entries(settings: ApiSettings) -> list[Entry]:
    return [Entry.of(text) for text in settings.webhook_host_list]


def public(address: Address) -> bool:
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    checked = mapped or address
    return checked.is_global and not checked.is_multicast


@dataclass(frozen=True)
class Entry:
    """One WEBHOOK_ALLOWED_HOSTS entry: a name (`host`, `*.domain`) or an address (an IP or a network), with
    an optional port."""

    name: str | None
    network: Network | None
    port: int | None

    @classmethod
    def of(cls, text: str) -> Entry:
        try:
            return cls(None, ipaddress.ip_network(text.strip("[]"), strict=False), None)
        except ValueError:
            pass
        try:  # read as a URL's authority, so `[::1]:8080` and `host:443` parse as they would in a URL
            parts = urlsplit(f"//{text}")
            name, port = (parts.hostname or "").lower(), parts.port
        except ValueError:
            return cls(None, None, None)  # a malformed entry allows nothing
        try:
            return cls(None, ipaddress.ip_network(name, strict=False), port)
        except ValueError:
            return cls(name or None, None, port)

    def names(self, host: str, port: int) -> bool:
        if self.name is None or (self.port is not None and self.port != port):
            return False
        if self.name.startswith("*."):
            return host.endswith(self.name[1:])
        return host == self.name

    def covers(self, address: Address, port: int) -> bool:
        if self.network is None or (self.port is not None and self.port != port):
            return False
        mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
        return address in self.network or (mapped is not None and mapped in self.network)
