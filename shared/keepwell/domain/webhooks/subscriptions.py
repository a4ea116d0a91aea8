"""Outbound webhook subscriptions and deliveries: the event catalogue and the rules around them (no AWS).

A subscription names a URL and the event types it wants. Each domain event on the bus becomes at
most one delivery per subscription; the delivery id (`webhook-id`) is derived from the event and the
subscription, so an event the bus hands us twice is still delivered once, and it is the same on every
retry so receivers can dedupe on it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from urllib.parse import urlsplit

# The fixed catalogue subscribers choose from (docs/webhooks.md lists it with each payload).
EVENT_TYPES: dict[str, str] = {
    "customer.health.scored": "A customer's daily health score was computed",
    "customer.health.band_changed": "A customer's health band changed (e.g. green to yellow)",
    "customer.health.alert": "A health alert fired for a customer (sharp drop, red flag)",
    "customer.churned": "A customer was marked churned",
    "playbook.triggered": "A playbook started a run for a customer",
    "task.created": "A task was created",
    "renewal.forecast_changed": "A renewal's forecast changed",
    "renewal.sales_handoff": "A renewal was handed to its account executive (added as co-owner)",
}
# Sent only by POST /v1/webhooks/{id}/test; nobody subscribes to it and every subscription can receive it.
TEST_EVENT_TYPE = "webhook.test"

# Domain event detail-types (the bus) → webhook event types (what subscribers see). Domain events whose
# detail-type already is a catalogue name (e.g. `task.created`) map to themselves.
_FROM_DOMAIN: dict[str, str] = {
    "health.scored": "customer.health.scored",
    "health.band_changed": "customer.health.band_changed",
    "health.alert": "customer.health.alert",
}

# Slack incoming-webhook messages (playbook actions, health alerts) travel the same delivery machinery,
# addressed to this reserved pseudo-subscription of the workspace (real subscription ids are `whs_…`):
# their log is `WS#w#WEBHOOK#slack / DELIVERY#…`, the URL stays in Secrets Manager, and they are sent
# unsigned with Slack's own body (docs/decisions/0012-slack-through-deliveries.md).
SLACK_CHANNEL = "slack"
SLACK_EVENT_TYPE = "slack.message"

MAX_SUBSCRIPTIONS_PER_WORKSPACE = 50
MAX_DESCRIPTION = 500
MAX_RESPONSE_CHARS = 1024  # of a receiver's answer kept in the delivery log
MAX_ROUNDS = 100  # manual redeliveries (and DLQ redrives) of one delivery

_BASE32 = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford, ascending: the encoded text sorts like the number


class SubscriptionStatus(StrEnum):
    ACTIVE = "active"
    FAILING = "failing"  # the last delivery exhausted its retries; still enabled, admins were told
    DISABLED = "disabled"  # by an admin, or by the receiver answering 410 Gone


class DeliveryStatus(StrEnum):
    QUEUED = "queued"
    RETRYING = "retrying"
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # a manual (test or redelivery) attempt failed; no automatic retry follows
    EXHAUSTED = "exhausted"  # every scheduled attempt failed; moved to the DLQ
    GONE = "gone"  # the receiver answered 410; the subscription was disabled
    CANCELLED = "cancelled"  # the subscription was disabled before the attempt


@dataclass(frozen=True)
class Subscription:
    workspace_id: str
    subscription_id: str
    url: str
    event_types: tuple[str, ...]
    description: str
    enabled: bool
    created_at: str
    created_by: str
    updated_at: str
    disabled_reason: str | None = None
    failing_since: str | None = None
    failure_reason: str | None = None
    secret_rotated_at: str | None = None
    version: int = 1

    @property
    def status(self) -> SubscriptionStatus:
        if not self.enabled:
            return SubscriptionStatus.DISABLED
        if self.failing_since is not None:
            return SubscriptionStatus.FAILING
        return SubscriptionStatus.ACTIVE

    def wants(self, event_type: str) -> bool:
        return self.enabled and event_type in self.event_types


@dataclass(frozen=True)
class Attempt:
    """One HTTP attempt of a delivery, as the delivery log shows it."""

    round: int  # 0: the automatic schedule; n: the n-th manual redelivery (or DLQ redrive)
    attempt: int  # position in the retry schedule, 1-based
    attempted_at: str
    outcome: str  # success, retry, disable, exhausted, failed
    reason: str  # e.g. http_500_server_error, timeout, blocked_destination
    status_code: int | None = None
    latency_ms: int | None = None
    response_body: str | None = None
    manual: bool = False

    @property
    def key(self) -> str:
        return attempt_key(self.round, self.attempt)


@dataclass(frozen=True)
class Delivery:
    workspace_id: str
    subscription_id: str
    delivery_id: str
    event_type: str
    event_id: str
    occurred_at: str
    payload_json: str
    status: DeliveryStatus
    created_at: str
    updated_at: str
    queued: bool = False
    rounds: int = 0
    next_attempt_at: str | None = None
    attempts: tuple[Attempt, ...] = field(default_factory=tuple)
    done: frozenset[str] = field(default_factory=frozenset)

    def has_attempted(self, round_: int, attempt: int) -> bool:
        return attempt_key(round_, attempt) in self.done


def attempt_key(round_: int, attempt: int) -> str:
    """Identifies one attempt of a delivery; a duplicate queue message for it is recognised and skipped."""
    return f"r{round_}a{attempt}"


def is_slack_channel(subscription_id: str) -> bool:
    """Whether a delivery goes to the workspace's Slack incoming webhook rather than a subscription."""
    return subscription_id == SLACK_CHANNEL


def webhook_event_type(domain_detail_type: str) -> str | None:
    """The webhook event type a domain event is delivered as, or None when no subscriber can want it."""
    mapped = _FROM_DOMAIN.get(domain_detail_type, domain_detail_type)
    return mapped if mapped in EVENT_TYPES else None


def normalise_event_types(event_types: Iterable[str]) -> tuple[str, ...]:
    """Sorted, de-duplicated; raises ValueError naming any type not in the catalogue."""
    chosen = {event_type.strip() for event_type in event_types}
    unknown = sorted(chosen - set(EVENT_TYPES))
    if unknown:
        raise ValueError(f"unknown event types {unknown}; choose from {sorted(EVENT_TYPES)}")
    if not chosen:
        raise ValueError("choose at least one event type")
    return tuple(sorted(chosen))


def _base32(number: int, width: int) -> str:
    chars = []
    for _ in range(width):
        number, digit = divmod(number, 32)
        chars.append(_BASE32[digit])
    return "".join(reversed(chars))


def delivery_id(workspace_id: str, subscription_id: str, source_event_id: str, occurred_at: datetime) -> str:
    """`msg_` + 8 base32 chars of the event's epoch second + 20 of a hash of (workspace, subscription, event).

    Deterministic, so a redelivered event maps to the same delivery (and the conditional put refuses
    it); time-ordered, so the delivery log reads newest first straight from the sort key.
    """
    digest = hashlib.sha256(f"{workspace_id}\n{subscription_id}\n{source_event_id}".encode()).digest()
    seconds = max(0, int(occurred_at.timestamp())) % (1 << 40)
    return f"msg_{_base32(seconds, 8)}{_base32(int.from_bytes(digest[:13], 'big'), 20)}"


def truncate_response(body: bytes, limit: int = MAX_RESPONSE_CHARS) -> str:
    """What the delivery log keeps of a receiver's answer: at most `limit` characters of its text."""
    text = body.decode("utf-8", errors="replace")
    return text if len(text) <= limit else text[:limit] + "…"


def redact(text: str, url: str, label: str = SLACK_CHANNEL) -> str:
    """`text` without the URL or its path and query (a Slack webhook's path is its credential)."""
    parts = urlsplit(url)
    secret_part = parts.path + (f"?{parts.query}" if parts.query else "")
    for needle in (url, secret_part, parts.path):
        if len(needle) > 1:
            text = text.replace(needle, f"<{label}>")
    return text
