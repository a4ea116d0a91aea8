"""SSRF guard for webhook subscriber URLs: checked at creation and again (re-resolved) before each send."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence

import httpx
import pytest

from keepwell.domain.webhooks.ssrf import (
    PinnedTarget,
    UnsafeUrl,
    blocked_reason,
    check_before_send,
    validate_subscription_url,
)

PUBLIC_V4 = "93.184.215.14"
PUBLIC_V6 = "2606:2800:21f:cb07:6820:80da:af6b:8b2c"


class FakeDns:
    """Answers in turn, like a rebinding attacker's DNS server; the last answer repeats."""

    def __init__(self, *answers: Sequence[str] | Exception):
        self.answers = list(answers)
        self.queries: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> Sequence[str]:
        self.queries.append((host, port))
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def public_dns() -> FakeDns:
    return FakeDns([PUBLIC_V4])


# --- Accepted ----------------------------------------------------------------------------------------------


def test_a_public_https_url_is_accepted_and_pinned_to_the_checked_address() -> None:
    dns = public_dns()
    url = "https://hooks.customer.example/keepwell?token=abc"
    assert validate_subscription_url(url, resolve=dns) == url
    target = check_before_send(url, resolve=dns)
    assert target == PinnedTarget("hooks.customer.example", PUBLIC_V4, 443, "https", "/keepwell?token=abc")
    assert target.connect_url == f"https://{PUBLIC_V4}:443/keepwell?token=abc"
    assert target.host_header == "hooks.customer.example"
    assert dns.queries == [("hooks.customer.example", 443)] * 2


def test_a_public_ipv6_answer_and_a_custom_port_are_kept_in_the_pinned_target() -> None:
    dns = FakeDns([PUBLIC_V6, PUBLIC_V4])
    target = check_before_send("https://Hooks.Customer.Example:8443/x", resolve=dns)
    assert target.ip == PUBLIC_V6
    assert target.connect_url == f"https://[{PUBLIC_V6}]:8443/x"
    assert target.host_header == "hooks.customer.example:8443"


def test_an_internationalised_host_is_resolved_in_its_ascii_form() -> None:
    dns = public_dns()
    target = check_before_send("https://bücher.example/hook", resolve=dns)
    assert target.host == "xn--bcher-kva.example"
    assert dns.queries == [("xn--bcher-kva.example", 443)]


def test_an_ipv4_mapped_ipv6_answer_is_judged_by_its_ipv4_address() -> None:
    target = check_before_send("https://a.example/", resolve=FakeDns([f"::ffff:{PUBLIC_V4}"]))
    assert ipaddress.IPv6Address(target.ip).ipv4_mapped == ipaddress.IPv4Address(PUBLIC_V4)
    assert blocked_reason(ipaddress.ip_address("::ffff:10.0.0.1")) == "private_embedded_in_ipv6"


# --- Scheme, userinfo and spelling ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.customer.example/",
        "ftp://hooks.customer.example/",
        "file:///etc/passwd",
        "gopher://hooks.customer.example/",
        "javascript:alert(1)",
        "//hooks.customer.example/",
    ],
)
def test_only_https_is_accepted(url: str) -> None:
    with pytest.raises(UnsafeUrl) as rejected:
        validate_subscription_url(url, resolve=public_dns())
    assert rejected.value.reason in {"scheme", "missing_host"}
    assert rejected.value.status == 400
    assert rejected.value.details[0]["field"] == "url"


@pytest.mark.parametrize(
    "url",
    [
        "https://user:secret@hooks.customer.example/",
        "https://user@hooks.customer.example/",
        "https://hooks.customer.example@169.254.169.254/",
        "https://:@hooks.customer.example/",
    ],
)
def test_userinfo_in_the_url_is_rejected(url: str) -> None:
    with pytest.raises(UnsafeUrl) as rejected:
        validate_subscription_url(url, resolve=public_dns())
    assert rejected.value.reason == "userinfo"


@pytest.mark.parametrize(
    "url",
    [
        "https://2130706433/",
        "https://0x7f.1/",
        "https://0x7f000001/",
        "https://017700000001/",
        "https://127.1/",
        "https://0177.0.0.1/",
        "https://127.000.000.001/",
        "https://0xa9.0xfe.0xa9.0xfe/",
        "https://3232235777/",
        "https://0/",
    ],
)
def test_decimal_octal_and_hex_ipv4_spellings_are_rejected(url: str) -> None:
    dns = public_dns()  # a resolver that would call them public must not even be asked
    with pytest.raises(UnsafeUrl) as rejected:
        validate_subscription_url(url, resolve=dns)
    assert rejected.value.reason == "numeric_host"
    assert dns.queries == []


@pytest.mark.parametrize("url", ["https://[fe80::1%25eth0]/", "https://[fe80::1%eth0]/", "https://[::1%251]/"])
def test_ipv6_zone_ids_are_rejected(url: str) -> None:
    with pytest.raises(UnsafeUrl) as rejected:
        validate_subscription_url(url, resolve=public_dns())
    assert rejected.value.reason in {"ipv6_zone_id", "malformed"}


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.customer.example\\@127.0.0.1/",
        "https://hooks.customer.example/\tx",
        "https://hooks.customer\n.example/",
        " https://hooks.customer.example/",
        "https://hooks.customer.example:99999/",
        "https://[not-an-ip]/",
        "https://exa_mple-.com/",
        "https://example.123/",
        "https://127。0。0。1/",
        "https://" + "a" * 2050 + ".example/",
        "",
        "https://:443/",
    ],
)
def test_malformed_or_ambiguous_urls_are_rejected(url: str) -> None:
    with pytest.raises(UnsafeUrl) as rejected:
        validate_subscription_url(url, resolve=public_dns())  # rejected for the URL itself, not its address
    assert rejected.value.reason in {"invalid_characters", "malformed", "too_long", "missing", "missing_host"}


def test_port_zero_is_rejected() -> None:
    with pytest.raises(UnsafeUrl):
        validate_subscription_url("https://hooks.customer.example:0/", resolve=public_dns())


# --- Addresses ------------------------------------------------------------------------------------------

BLOCKED = [
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("169.254.169.254", "link_local"),
    ("10.0.0.1", "private"),
    ("172.16.5.4", "private"),
    ("172.31.255.255", "private"),
    ("192.168.1.1", "private"),
    ("100.64.0.1", "carrier_grade_nat"),
    ("100.127.255.254", "carrier_grade_nat"),
    ("0.0.0.0", "unspecified"),
    ("255.255.255.255", "broadcast"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("240.0.0.1", "reserved"),
    ("192.0.0.8", "reserved"),
    ("198.18.0.1", "reserved"),
    ("192.0.2.10", "documentation"),
    ("203.0.113.7", "documentation"),
    ("::1", "loopback"),
    ("::", "unspecified"),
    ("fc00::1", "private"),
    ("fd12:3456:789a::1", "private"),
    ("fe80::1", "link_local"),
    ("fe80::1%eth0", "link_local"),
    ("ff02::1", "multicast"),
    ("2001:db8::1", "documentation"),
    ("2001:2::1", "not_global"),  # benchmarking: caught by the IANA "not globally reachable" catch-all
    ("::ffff:127.0.0.1", "loopback_embedded_in_ipv6"),
    ("::ffff:7f00:1", "loopback_embedded_in_ipv6"),
    ("::ffff:169.254.169.254", "link_local_embedded_in_ipv6"),
    ("::ffff:10.0.0.1", "private_embedded_in_ipv6"),
    ("::127.0.0.1", "ipv4_compatible"),
    ("::a9fe:a9fe", "ipv4_compatible"),
    ("64:ff9b::10.0.0.1", "private_embedded_in_ipv6"),
    ("64:ff9b::169.254.169.254", "link_local_embedded_in_ipv6"),
    ("2002:c0a8:101::1", "private_embedded_in_ipv6"),  # 6to4 of 192.168.1.1
    ("2002:7f00:1::", "loopback_embedded_in_ipv6"),
    ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "private_embedded_in_ipv6"),  # Teredo client 10.0.0.1
]
BLOCKED_IDS = [ip for ip, _ in BLOCKED]


@pytest.mark.parametrize(("ip", "reason"), BLOCKED, ids=BLOCKED_IDS)
def test_a_host_resolving_to_a_non_public_address_is_rejected_at_creation(ip: str, reason: str) -> None:
    with pytest.raises(UnsafeUrl) as rejected:
        validate_subscription_url("https://hooks.customer.example/", resolve=FakeDns([ip]))
    assert rejected.value.reason == "blocked_address"
    assert f"({reason}:" in rejected.value.message


@pytest.mark.parametrize(("ip", "reason"), BLOCKED, ids=BLOCKED_IDS)
def test_dns_rebinding_between_creation_and_send_is_caught_at_send_time(ip: str, reason: str) -> None:
    dns = FakeDns([PUBLIC_V4], [ip])
    url = "https://rebind.attacker.example/hook"
    validate_subscription_url(url, resolve=dns)  # looked public when the subscription was saved
    with pytest.raises(UnsafeUrl) as rejected:
        check_before_send(url, resolve=dns)
    assert rejected.value.reason == "blocked_address"
    assert f"({reason}:" in rejected.value.message


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.0.0.1/",
        "https://[::1]/",
        "https://[::ffff:127.0.0.1]/",
        "https://[::ffff:7f00:1]/",
        "https://[fd00::1]/",
        "https://[64:ff9b::a9fe:a9fe]/",
        "https://[fe80::1]/",
    ],
)
def test_non_public_ip_literals_are_rejected_without_a_dns_lookup(url: str) -> None:
    dns = public_dns()
    with pytest.raises(UnsafeUrl) as rejected:
        validate_subscription_url(url, resolve=dns)
    assert rejected.value.reason == "blocked_address"
    assert dns.queries == []


def test_one_private_address_among_public_ones_rejects_the_host() -> None:
    with pytest.raises(UnsafeUrl) as rejected:
        dns = FakeDns([PUBLIC_V4, PUBLIC_V6, "10.1.2.3"])
        validate_subscription_url("https://mixed.example/", resolve=dns)
    assert "10.1.2.3" in rejected.value.message


def test_an_unresolvable_host_is_rejected() -> None:
    with pytest.raises(UnsafeUrl) as rejected:
        validate_subscription_url("https://nx.example/", resolve=FakeDns(socket.gaierror(-2, "Name unknown")))
    assert rejected.value.reason == "unresolvable"
    with pytest.raises(UnsafeUrl):
        check_before_send("https://empty.example/", resolve=FakeDns([]))


def test_the_real_resolver_is_used_by_default_and_localhost_is_refused() -> None:
    with pytest.raises(UnsafeUrl) as rejected:
        validate_subscription_url("https://localhost/hook")
    assert rejected.value.reason == "blocked_address"


# --- Local development flag --------------------------------------------------------------------------------


def test_the_dev_flag_allows_http_to_loopback_only() -> None:
    target = check_before_send("http://localhost:3000/hook", resolve=FakeDns(["127.0.0.1"]), allow_loopback_http=True)
    assert target.connect_url == "http://127.0.0.1:3000/hook"
    assert target.host_header == "localhost:3000"
    with pytest.raises(UnsafeUrl):
        check_before_send("http://localhost:3000/hook", resolve=FakeDns(["127.0.0.1"]))


@pytest.mark.parametrize("answer", [[PUBLIC_V4], ["10.0.0.1"], ["127.0.0.1", "10.0.0.1"], ["169.254.169.254"]])
def test_the_dev_flag_still_refuses_http_elsewhere_and_private_addresses(answer: list[str]) -> None:
    with pytest.raises(UnsafeUrl):
        validate_subscription_url("http://dev.example:3000/", resolve=FakeDns(answer), allow_loopback_http=True)


# --- Pinning with httpx -------------------------------------------------------------------------------------


def test_the_documented_httpx_recipe_dials_the_pinned_ip_with_the_original_host_and_sni() -> None:
    seen: list[httpx.Request] = []

    def transport(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    target = check_before_send("https://hooks.customer.example/k", resolve=public_dns())
    with httpx.Client(transport=httpx.MockTransport(transport), follow_redirects=False) as client:
        response = client.post(
            target.connect_url,
            content=b"{}",
            headers={"Host": target.host_header},
            extensions={"sni_hostname": target.host},
        )
    assert response.status_code == 204
    assert seen[0].url.host == PUBLIC_V4
    assert seen[0].headers["host"] == "hooks.customer.example"
    assert seen[0].extensions["sni_hostname"] == "hooks.customer.example"
