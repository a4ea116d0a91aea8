"""Pure rules of outbound webhook subscriptions: the event catalogue, delivery ids, the log's truncation,
and how one HTTP attempt is classified (no AWS; the HTTP client is a mock transport)."""

from __future__ import annotations

import re
import ssl
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from keepwell.domain.webhooks.retry import TransportError
from keepwell.domain.webhooks.subscriptions import (
    EVENT_TYPES,
    TEST_EVENT_TYPE,
    Delivery,
    DeliveryStatus,
    Subscription,
    SubscriptionStatus,
    attempt_key,
    delivery_id,
    normalise_event_types,
    truncate_response,
    webhook_event_type,
)
from keepwell.ids import ENTITY_ID
from keepwell.services import webhook_deliveries

AT = datetime(2026, 11, 20, 9, 31, 4, tzinfo=UTC)


# --- the event catalogue ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("domain", "webhook"),
    [
        ("health.band_changed", "customer.health.band_changed"),
        ("health.alert", "customer.health.alert"),
        ("health.scored", "customer.health.scored"),
        ("task.created", "task.created"),
        ("playbook.triggered", "playbook.triggered"),
        ("customer.churned", "customer.churned"),
        ("renewal.forecast_changed", "renewal.forecast_changed"),
    ],
)
def test_domain_events_map_to_their_webhook_type(domain: str, webhook: str) -> None:
    assert webhook_event_type(domain) == webhook
    assert webhook in EVENT_TYPES


@pytest.mark.parametrize("domain", ["customer.changed", "webhook.subscription_failing", TEST_EVENT_TYPE, "x"])
def test_domain_events_nobody_can_subscribe_to_map_to_nothing(domain: str) -> None:
    assert webhook_event_type(domain) is None


def test_event_types_are_sorted_and_deduplicated() -> None:
    assert normalise_event_types(["task.created", "customer.churned", "task.created"]) == (
        "customer.churned",
        "task.created",
    )


@pytest.mark.parametrize("chosen", [["customer.exploded"], [TEST_EVENT_TYPE], []])
def test_unknown_or_no_event_types_are_refused(chosen: list[str]) -> None:
    with pytest.raises(ValueError):
        normalise_event_types(chosen)


# --- delivery ids ----------------------------------------------------------------------------------
def test_the_delivery_id_is_derived_from_the_event_and_the_subscription() -> None:
    one = delivery_id("ws_acme", "whs_1", "evt-1", AT)
    assert one == delivery_id("ws_acme", "whs_1", "evt-1", AT)
    assert one.startswith("msg_") and re.fullmatch(ENTITY_ID, one) and len(one) == 32
    others = {
        delivery_id("ws_acme", "whs_2", "evt-1", AT),
        delivery_id("ws_acme", "whs_1", "evt-2", AT),
        delivery_id("ws_globex", "whs_1", "evt-1", AT),
    }
    assert one not in others and len(others) == 3


@given(
    st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)),
    st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=3650)),
    st.text(min_size=1, max_size=40),
    st.text(min_size=1, max_size=40),
)
def test_property_delivery_ids_sort_by_the_time_of_their_event(
    earlier: datetime, gap: timedelta, event_a: str, event_b: str
) -> None:
    assert delivery_id("w", "s", event_a, earlier) < delivery_id("w", "s", event_b, earlier + gap)


# --- the delivery log ------------------------------------------------------------------------------
def test_a_short_response_is_kept_whole_and_a_long_one_cut() -> None:
    assert truncate_response(b'{"ok":true}') == '{"ok":true}'
    assert truncate_response(b"a" * 5000) == "a" * 1024 + "…"
    assert truncate_response(b"\xff\xfeok") == "\ufffd\ufffdok"


def test_an_attempt_is_recognised_by_round_and_number() -> None:
    delivery = Delivery(
        workspace_id="w",
        subscription_id="s",
        delivery_id="msg_1",
        event_type="task.created",
        event_id="e",
        occurred_at="2026-11-20T09:30:00.000Z",
        payload_json="{}",
        status=DeliveryStatus.RETRYING,
        created_at="t",
        updated_at="t",
        done=frozenset({attempt_key(0, 1), attempt_key(0, 2)}),
    )
    assert delivery.has_attempted(0, 2)
    assert not delivery.has_attempted(0, 3)
    assert not delivery.has_attempted(1, 1)  # a redelivery round starts its own count


def _subscription(**changes: object) -> Subscription:
    base: dict[str, object] = {
        "workspace_id": "w",
        "subscription_id": "whs_1",
        "url": "https://hooks.example/",
        "event_types": ("task.created",),
        "description": "",
        "enabled": True,
        "created_at": "t",
        "created_by": "u",
        "updated_at": "t",
    }
    return Subscription(**{**base, **changes})  # type: ignore[arg-type]


def test_a_subscription_is_active_failing_or_disabled() -> None:
    assert _subscription().status is SubscriptionStatus.ACTIVE
    assert _subscription(failing_since="t").status is SubscriptionStatus.FAILING
    assert _subscription(enabled=False, failing_since="t").status is SubscriptionStatus.DISABLED


def test_only_an_enabled_subscription_wants_its_event_types() -> None:
    assert _subscription().wants("task.created")
    assert not _subscription().wants("customer.churned")
    assert not _subscription(enabled=False).wants("task.created")


# --- one HTTP attempt ------------------------------------------------------------------------------
def _post_with(monkeypatch: pytest.MonkeyPatch, handler: object) -> webhook_deliveries.SendResult:
    transport = httpx.MockTransport(handler)  # type: ignore[arg-type]
    monkeypatch.setattr(webhook_deliveries, "http_client", lambda: httpx.Client(transport=transport))
    return webhook_deliveries.post("https://93.184.215.14/hook", b"{}", {"webhook-id": "msg_1"})


def test_a_tls_failure_is_told_apart_from_a_refused_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    def tls(request: httpx.Request) -> httpx.Response:
        try:
            raise ssl.SSLCertVerificationError("certificate verify failed")
        except ssl.SSLError as error:
            raise httpx.ConnectError("handshake failed", request=request) from error

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    assert _post_with(monkeypatch, tls).error is TransportError.TLS
    refused_result = _post_with(monkeypatch, refused)
    assert refused_result.error is TransportError.CONNECTION and refused_result.status is None


def test_the_answer_is_read_only_up_to_a_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    result = _post_with(monkeypatch, lambda request: httpx.Response(500, content=b"y" * 1_000_000))
    assert result.status == 500 and result.response_body == "y" * 1024 + "…"


def test_a_blocked_destination_is_never_dialled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(webhook_deliveries, "http_client", lambda: pytest.fail("must not connect"))
    result = webhook_deliveries.post("https://169.254.169.254/latest/meta-data/", b"{}", {})
    assert result.error is TransportError.BLOCKED and "link_local" in (result.response_body or "")
