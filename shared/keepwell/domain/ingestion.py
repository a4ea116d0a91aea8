"""Product events: per-event validation, identity for exactly-once counting, and daily roll-ups.

Everything here is pure: the service reads the current day items, asks this module what changes,
and writes the result with a version condition.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from keepwell.schemas.events import ProductEventIn, RejectedEvent

FUTURE_TOLERANCE = timedelta(minutes=5)
BACKFILL_WINDOW = timedelta(days=90)
LOGIN_EVENTS = frozenset({"user_logged_in", "login", "signed_in", "session_started"})
# Events that are activity but not use of a feature (they do not count towards distinct features).
NON_FEATURE_EVENTS = LOGIN_EVENTS | frozenset({"page_viewed", "user_logged_out", "heartbeat"})


@dataclass(frozen=True)
class CustomerRef:
    kind: str  # "id" | "external_id" | "domain"
    value: str


@dataclass(frozen=True)
class ValidEvent:
    index: int
    digest: str  # identity used for exactly-once counting
    customer: CustomerRef
    name: str
    user_id: str
    occurred_at: datetime
    feature: str | None
    properties: dict[str, Any]

    @property
    def day(self) -> date:
        return self.occurred_at.date()


def customer_ref(event: ProductEventIn) -> CustomerRef:
    if event.customer_id:
        return CustomerRef("id", event.customer_id)
    if event.customer_external_id:
        return CustomerRef("external_id", event.customer_external_id)
    return CustomerRef("domain", (event.customer_domain or "").lower())


def event_digest(event: ProductEventIn, ref: CustomerRef) -> str:
    """A sender's event_id names the event; without one, its content does (so a retried batch counts once)."""
    if event.event_id:
        material = f"id|{event.event_id}"
    else:
        material = "content|" + json.dumps(
            [ref.kind, ref.value, event.event, event.user_id, event.timestamp.isoformat(), event.properties],
            sort_keys=True,
            separators=(",", ":"),
            default=str,
        )
    return hashlib.blake2b(material.encode(), digest_size=12).hexdigest()


def feature_of(event: ProductEventIn) -> str | None:
    explicit = event.properties.get("feature")
    if isinstance(explicit, str) and explicit:
        return explicit[:128]
    return None if event.event in NON_FEATURE_EVENTS else event.event


def validate_events(raw_events: list[Any], now: datetime) -> tuple[list[ValidEvent], list[RejectedEvent]]:
    """Validate each event on its own: one bad event never sinks the batch."""
    valid: list[ValidEvent] = []
    rejected: list[RejectedEvent] = []
    for index, raw in enumerate(raw_events):
        try:
            event = ProductEventIn.model_validate(raw)
        except ValidationError as error:
            first = error.errors(include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"]) or "event"
            code = "invalid_timestamp" if where == "timestamp" else "invalid_event"
            rejected.append(RejectedEvent(index=index, code=code, message=f"{where}: {first['msg']}"))
            continue
        if event.timestamp > now + FUTURE_TOLERANCE:
            rejected.append(
                RejectedEvent(
                    index=index, code="invalid_timestamp", message="timestamp is more than 5 minutes in the future"
                )
            )
            continue
        if event.timestamp < now - BACKFILL_WINDOW:
            rejected.append(
                RejectedEvent(index=index, code="too_old", message="timestamp is older than the 90-day backfill window")
            )
            continue
        ref = customer_ref(event)
        valid.append(
            ValidEvent(
                index=index,
                digest=event_digest(event, ref),
                customer=ref,
                name=event.event,
                user_id=event.user_id,
                occurred_at=event.timestamp,
                feature=feature_of(event),
                properties=dict(event.properties),
            )
        )
    return valid, rejected


@dataclass
class DayRollup:
    """What one batch adds to one customer's day."""

    events: int = 0
    logins: int = 0
    event_counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    users: set[str] = field(default_factory=set)
    features: set[str] = field(default_factory=set)
    digests: set[str] = field(default_factory=set)

    def add(self, event: ValidEvent) -> None:
        self.events += 1
        self.event_counts[event.name] += 1
        if event.name in LOGIN_EVENTS:
            self.logins += 1
        self.users.add(event.user_id)
        if event.feature:
            self.features.add(event.feature)
        self.digests.add(event.digest)


def roll_up_new_events(events: list[ValidEvent], already_counted: set[str]) -> tuple[DayRollup, list[ValidEvent]]:
    """Roll up the events not counted before (by digest); duplicates inside the batch count once too."""
    rollup = DayRollup()
    fresh: list[ValidEvent] = []
    for event in events:
        if event.digest in already_counted or event.digest in rollup.digests:
            continue
        rollup.add(event)
        fresh.append(event)
    return rollup, fresh


def digest_line(rollup: DayRollup) -> str:
    """Human text for the day's product-activity entry on the timeline."""
    top = sorted(rollup.event_counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    parts = ", ".join(f"{name} x{count}" for name, count in top)
    return f"{rollup.events} product events from {len(rollup.users)} users: {parts}"
