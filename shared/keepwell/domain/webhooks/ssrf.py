"""The SSRF guard for customer-supplied webhook URLs: checked at creation and again before every send.

A subscriber URL is attacker-controlled input that makes our Lambda open a connection, so it must
never reach loopback, the VPC, or the instance metadata service (169.254.169.254). Rules, in the spirit
of GitLab's UrlBlocker and Stripe's Smokescreen:

- https only (http and loopback only with the local-dev flag); no userinfo, no IPv6 zone ids, no
  backslashes, whitespace or control characters, no numeric host spellings other than dotted-quad
  (`2130706433`, `0x7f.1`, `017700000001`, `127.1` are how blocklists get bypassed);
- every address the name resolves to must be public: ANY blocked address rejects the URL (a name
  with one public and one private record could otherwise be routed to the private one);
- IPv6 forms that embed an IPv4 address (mapped, compatible, NAT64, 6to4, Teredo) are judged by it.

`check_before_send` returns the checked IP; the sender connects to exactly that IP (DNS pinning) with
the original host as Host header and TLS SNI, so a second DNS answer (rebinding) cannot redirect it.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit, urlunsplit

from keepwell.errors import InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]

MAX_URL_LENGTH = 2048

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network
# Checked in order; the first match names the reason. Anything else not globally routable is also blocked.
_BLOCKED_V4: tuple[tuple[ipaddress.IPv4Network, str], ...] = (
    (_V4("0.0.0.0/8"), "unspecified"),
    (_V4("10.0.0.0/8"), "private"),
    (_V4("100.64.0.0/10"), "carrier_grade_nat"),
    (_V4("127.0.0.0/8"), "loopback"),
    (_V4("169.254.0.0/16"), "link_local"),  # includes the instance metadata service
    (_V4("172.16.0.0/12"), "private"),
    (_V4("192.0.0.0/24"), "reserved"),
    (_V4("192.0.2.0/24"), "documentation"),
    (_V4("192.88.99.0/24"), "reserved"),  # deprecated 6to4 relay anycast
    (_V4("192.168.0.0/16"), "private"),
    (_V4("198.18.0.0/15"), "reserved"),  # benchmarking
    (_V4("198.51.100.0/24"), "documentation"),
    (_V4("203.0.113.0/24"), "documentation"),
    (_V4("224.0.0.0/4"), "multicast"),
    (_V4("255.255.255.255/32"), "broadcast"),
    (_V4("240.0.0.0/4"), "reserved"),
)
_BLOCKED_V6: tuple[tuple[ipaddress.IPv6Network, str], ...] = (
    (_V6("::/128"), "unspecified"),
    (_V6("::1/128"), "loopback"),
    (_V6("::/96"), "ipv4_compatible"),  # deprecated ::a.b.c.d; never a real destination
    (_V6("64:ff9b:1::/48"), "reserved"),  # local-use NAT64
    (_V6("100::/64"), "reserved"),  # discard-only
    (_V6("2001:db8::/32"), "documentation"),
    (_V6("fc00::/7"), "private"),  # unique local
    (_V6("fe80::/10"), "link_local"),
    (_V6("fec0::/10"), "link_local"),  # deprecated site-local
    (_V6("ff00::/8"), "multicast"),
)
_NAT64 = _V6("64:ff9b::/96")

# Each label a number in some base: the spellings inet_aton accepts besides a.b.c.d.
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_FORBIDDEN_CHARS = re.compile(r"[\x00-\x20\x7f\\]")


class UnsafeUrl(InvalidInput):
    """The URL may not be used as a webhook destination; `reason` is machine-readable."""

    def __init__(self, reason: str, message: str, field: str = "url"):
        super().__init__(message, details=[{"field": field, "issue": reason}])
        self.reason = reason


@dataclass(frozen=True)
class PinnedTarget:
    """Where to connect: `ip` is the address that was checked; `host` goes in Host and SNI."""

    host: str
    ip: str
    port: int
    scheme: str = "https"
    path: str = "/"  # path + query, as given

    @property
    def connect_url(self) -> str:
        """The URL with the host replaced by the pinned IP (what the HTTP client dials)."""
        address = f"[{self.ip}]" if ":" in self.ip else self.ip
        return f"{self.scheme}://{address}:{self.port}{self.path}"

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


def default_resolve(host: str, port: int) -> list[str]:
    """Every address getaddrinfo returns for the host (A and AAAA), in the resolver's order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _embedded_v4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    if ip.ipv4_mapped is not None:
        return [ip.ipv4_mapped]
    if ip in _NAT64:
        return [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)]
    if ip.sixtofour is not None:
        return [ip.sixtofour]
    if ip.teredo is not None:
        server, client = ip.teredo
        return [server, client]
    return []


def blocked_reason(ip: IPAddress) -> str | None:
    """Why this address may not be a webhook destination, or None when it is public."""
    if isinstance(ip, ipaddress.IPv6Address):
        for v4 in _embedded_v4(ip):
            inner = blocked_reason(v4)
            if inner is not None:
                return f"{inner}_embedded_in_ipv6"
        if ip.ipv4_mapped is not None:
            return None  # ::ffff:a.b.c.d with a public a.b.c.d is that public address
        for v6net, reason in _BLOCKED_V6:
            if ip in v6net:
                return reason
    else:
        for v4net, reason in _BLOCKED_V4:
            if ip in v4net:
                return reason
    if not ip.is_global:  # the catch-all for anything the IANA registries mark non-global
        return "not_global"
    return None


def _parse(url: str) -> SplitResult:
    if not isinstance(url, str) or not url:
        raise UnsafeUrl("missing", "A webhook URL is required")
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeUrl("too_long", f"The webhook URL must be at most {MAX_URL_LENGTH} characters")
    if _FORBIDDEN_CHARS.search(url):
        # urlsplit silently drops tabs/newlines and other parsers read "\" as "/": refuse ambiguity.
        raise UnsafeUrl("invalid_characters", "The webhook URL contains whitespace, control characters or \\")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise UnsafeUrl("malformed", "The webhook URL is not a valid URL") from None
    return parts


def _literal_ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _normalise_host(parts: SplitResult) -> str:
    if "@" in parts.netloc:
        raise UnsafeUrl("userinfo", "The webhook URL must not contain a user name or password")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeUrl("missing_host", "The webhook URL has no host")
    if "%" in host:
        raise UnsafeUrl("ipv6_zone_id", "IPv6 zone ids are not allowed in webhook URLs")
    if parts.netloc.startswith("[") or ":" in host:
        if not isinstance(_literal_ip(host), ipaddress.IPv6Address):
            raise UnsafeUrl("malformed", "The webhook URL has an invalid IPv6 address")
        return host
    labels = host.split(".")
    if all(_NUMERIC_LABEL.match(label) for label in labels):
        if len(labels) == 4 and isinstance(_literal_ip(host), ipaddress.IPv4Address):
            return host  # canonical dotted-quad (ipaddress refuses leading zeros)
        raise UnsafeUrl("numeric_host", "Write IPv4 hosts as a.b.c.d; decimal, octal and hex forms refused")
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise UnsafeUrl("malformed", "The webhook URL host is not a valid domain name") from None
    ascii_labels = ascii_host.split(".")
    if not all(_HOST_LABEL.match(label) for label in ascii_labels) or ascii_labels[-1].isdigit():
        raise UnsafeUrl("malformed", "The webhook URL host is not a valid domain name")
    return ascii_host


def _resolve(host: str, port: int, resolve: Resolver) -> list[IPAddress]:
    literal = _literal_ip(host)
    if literal is not None:
        return [literal]
    try:
        answers = list(resolve(host, port))
    except (OSError, UnicodeError):
        raise UnsafeUrl("unresolvable", f"The host {host} could not be resolved") from None
    addresses: list[IPAddress] = []
    for answer in answers:
        ip = _literal_ip(str(answer).split("%", 1)[0])  # getaddrinfo may append a %scope to link-local
        if ip is None:
            raise UnsafeUrl("unresolvable", f"The host {host} resolved to an invalid address")
        addresses.append(ip)
    if not addresses:
        raise UnsafeUrl("unresolvable", f"The host {host} has no addresses")
    return addresses


def _check(url: str, resolve: Resolver, allow_loopback_http: bool) -> PinnedTarget:
    parts = _parse(url)
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise UnsafeUrl("scheme", "The webhook URL must use https")
    host = _normalise_host(parts)
    port = parts.port if parts.port is not None else (443 if scheme == "https" else 80)
    if port == 0:
        raise UnsafeUrl("malformed", "The webhook URL has an invalid port")
    addresses = _resolve(host, port, resolve)
    loopback_dev = allow_loopback_http and all(ip.is_loopback for ip in addresses)
    if scheme == "http" and not loopback_dev:
        raise UnsafeUrl("scheme", "The webhook URL must use https")
    if not loopback_dev:
        for ip in addresses:
            reason = blocked_reason(ip)
            if reason is not None:
                raise UnsafeUrl("blocked_address", f"The host {host} resolves to a non-public address ({reason}: {ip})")
    path = urlunsplit(("", "", parts.path or "/", parts.query, ""))
    return PinnedTarget(host=host, ip=str(addresses[0]), port=port, scheme=scheme, path=path)


def validate_subscription_url(url: str, resolve: Resolver = default_resolve, allow_loopback_http: bool = False) -> str:
    """Check a URL when a subscription is created or changed: returns it, or raises `UnsafeUrl` (400)."""
    _check(url, resolve, allow_loopback_http)
    return url


def check_before_send(url: str, resolve: Resolver = default_resolve, allow_loopback_http: bool = False) -> PinnedTarget:
    """Re-resolve and re-check right before a delivery; connect only to the returned `ip`."""
    return _check(url, resolve, allow_loopback_http)
