"""Product events: per-event validation, identity for exactly-once counting, and daily roll-ups.

Everything here is pure: the service reads the current day items, asks this module what changes,
and writes the result with a version condition. Days are UTC days.

This is the hot path of `POST /v1/events` (up to 1,000 events a call): per event it does one
pydantic validation, at most one `json.dumps` (properties, when there are any) and one hash.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, NamedTuple

from pydantic import ValidationError

from keepwell.domain.domain_names import normalise_domain
from keepwell.domain.product_events import MAX_PROPERTIES_BYTES, ProductEventIn, RejectedEvent
from keepwell.domain.timeline import TimelineEntry

FUTURE_TOLERANCE = timedelta(minutes=5)
BACKFILL_WINDOW = timedelta(days=90)
LOGIN_EVENTS = frozenset({"user_logged_in", "login", "signed_in", "session_started"})
# Events that are activity but not use of a feature (they do not count towards distinct features).
NON_FEATURE_EVENTS = LOGIN_EVENTS | frozenset({"page_viewed", "user_logged_out", "heartbeat"})
TITLE_EVENT_NAMES = 5  # event names spelled out in the timeline title; the rest are "+N more"
MAX_LISTED_FEATURES = 100  # features listed in the timeline entry's attributes
MAX_ERRORS_IN_MESSAGE = 3

# Bound once: these run up to 1,000 times a request (the model's validator without the classmethod
# wrapper; JSON encoders built once instead of one per `json.dumps` call with options).
_validate_event = ProductEventIn.__pydantic_validator__.validate_python
_canonical_json = json.JSONEncoder(sort_keys=True, separators=(",", ":")).encode
_compact_json = json.JSONEncoder(separators=(",", ":")).encode
_EMPTY_PROPERTIES = "{}"
# Upper bound of a raw row's JSON besides its strings: punctuation, timestamp, digest, nulls.
_RAW_RECORD_OVERHEAD = 100


# Named tuples: built up to 1,000 times a request, and much cheaper to build than dataclasses.
class CustomerRef(NamedTuple):
    kind: str  # "id" | "external_id" | "domain"
    value: str


class ValidEvent(NamedTuple):
    position: int  # index in the batch
    digest: str  # identity used for exactly-once counting
    customer: CustomerRef
    name: str
    user_id: str
    occurred_at: datetime  # UTC
    day: date  # the UTC day the event counts on
    feature: str | None
    event_id: str | None
    properties: dict[str, Any]
    properties_json: str  # canonical JSON of `properties` (sorted keys)


@lru_cache(maxsize=4096)
def _domain(raw: str) -> str:
    return normalise_domain(raw)


def customer_ref(event: ProductEventIn) -> CustomerRef:
    """The customer an event names: its id, else its external id, else its (normalised) domain.
    ValueError when the domain is not a host name."""
    if event.customer_id:
        return CustomerRef("id", event.customer_id)
    if event.customer_external_id:
        return CustomerRef("external_id", event.customer_external_id)
    return CustomerRef("domain", _domain(event.customer_domain or ""))


def event_digest(
    event_id: str | None, ref: CustomerRef, name: str, user_id: str, occurred_at: datetime, properties_json: str
) -> str:
    """A sender's event_id names the event; without one, its content does (so a retried batch counts
    once). `occurred_at` is UTC, so the same instant written with another offset is the same event."""
    if event_id:
        material = "id|" + event_id
    else:
        material = "content|" + _compact_json(
            [ref.kind, ref.value, name, user_id, occurred_at.isoformat(), properties_json]
        )
    return hashlib.blake2b(material.encode(), digest_size=12).hexdigest()


def feature_of(name: str, properties: Mapping[str, Any]) -> str | None:
    explicit = properties.get("feature")
    if isinstance(explicit, str) and explicit:
        return explicit[:128]
    return None if name in NON_FEATURE_EVENTS else name


def _rejection(index: int, error: ValidationError) -> RejectedEvent:
    problems = error.errors(include_url=False, include_context=False)
    fields = [".".join(str(p) for p in problem["loc"]) or "event" for problem in problems]
    code = "invalid_timestamp" if all(f == "timestamp" for f in fields) else "invalid_event"
    message = "; ".join(
        f"{where}: {problem['msg']}"
        for where, problem in zip(fields[:MAX_ERRORS_IN_MESSAGE], problems[:MAX_ERRORS_IN_MESSAGE], strict=True)
    )
    return RejectedEvent(index=index, code=code, message=message)


def validate_events(raw_events: list[Any], now: datetime) -> tuple[list[ValidEvent], list[RejectedEvent]]:
    """Validate each event on its own: one bad event never sinks the batch."""
    valid: list[ValidEvent] = []
    rejected: list[RejectedEvent] = []
    latest, earliest = now + FUTURE_TOLERANCE, now - BACKFILL_WINDOW
    for index, raw in enumerate(raw_events):
        try:
            event: ProductEventIn = _validate_event(raw)
        except ValidationError as error:
            rejected.append(_rejection(index, error))
            continue
        occurred_at = event.timestamp.astimezone(UTC)
        if occurred_at > latest:
            rejected.append(
                RejectedEvent(
                    index=index, code="timestamp_in_future", message="timestamp is more than 5 minutes in the future"
                )
            )
            continue
        if occurred_at < earliest:
            rejected.append(
                RejectedEvent(index=index, code="too_old", message="timestamp is older than the 90-day backfill window")
            )
            continue
        try:
            ref = customer_ref(event)
        except ValueError as error:
            rejected.append(RejectedEvent(index=index, code="invalid_event", message=f"customer_domain: {error}"))
            continue
        properties = event.properties
        properties_json = _canonical_json(properties) if properties else _EMPTY_PROPERTIES
        if len(properties_json) > MAX_PROPERTIES_BYTES:
            rejected.append(
                RejectedEvent(
                    index=index,
                    code="invalid_event",
                    message=f"properties: {len(properties_json)} bytes as JSON; the limit is {MAX_PROPERTIES_BYTES}",
                )
            )
            continue
        name, user_id = event.event, event.user_id
        valid.append(
            ValidEvent(
                position=index,
                digest=event_digest(event.event_id, ref, name, user_id, occurred_at, properties_json),
                customer=ref,
                name=name,
                user_id=user_id,
                occurred_at=occurred_at,
                day=occurred_at.date(),
                feature=feature_of(name, properties),
                event_id=event.event_id,
                properties=properties,
                properties_json=properties_json,
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


def roll_up_new_events(
    events: list[ValidEvent], already_counted: AbstractSet[str]
) -> tuple[DayRollup, list[ValidEvent]]:
    """Roll up the events not counted before (by digest); duplicates inside the batch count once too."""
    rollup = DayRollup()
    fresh: list[ValidEvent] = []
    seen = rollup.digests
    for event in events:
        if event.digest in already_counted or event.digest in seen:
            continue
        rollup.add(event)
        fresh.append(event)
    return rollup, fresh


@dataclass(frozen=True)
class DayActivity:
    """A customer's product activity on one day: the totals the day item holds."""

    events: int = 0
    logins: int = 0
    event_counts: Mapping[str, int] = field(default_factory=dict)
    users: frozenset[str] = frozenset()
    features: frozenset[str] = frozenset()

    def plus(self, rollup: DayRollup) -> DayActivity:
        counts = dict(self.event_counts)
        for name, count in rollup.event_counts.items():
            counts[name] = counts.get(name, 0) + count
        return DayActivity(
            events=self.events + rollup.events,
            logins=self.logins + rollup.logins,
            event_counts=counts,
            users=self.users | rollup.users,
            features=self.features | rollup.features,
        )


def _top_counts(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def activity_title(activity: DayActivity) -> str:
    """`12 product events: user_logged_in x5, report_exported x3` (the busiest names first)."""
    ranked = _top_counts(activity.event_counts)
    parts = [f"{name} x{count}" for name, count in ranked[:TITLE_EVENT_NAMES]]
    if len(ranked) > TITLE_EVENT_NAMES:
        parts.append(f"+{len(ranked) - TITLE_EVENT_NAMES} more")
    noun = "product event" if activity.events == 1 else "product events"
    title = f"{activity.events} {noun}: " + ", ".join(parts)
    return title if len(title) <= 300 else title[:299] + "…"


def activity_start(day: date) -> datetime:
    """When a day's product-activity entry is placed on the timeline: the start of the (UTC) day.

    Fixed per day, so each batch overwrites the same entry with the day's new totals."""
    return datetime.combine(day, time(0, 0), UTC)


def product_activity_entry(customer_id: str, day: date, activity: DayActivity, item_id: str) -> TimelineEntry:
    """The one timeline entry that sums up a customer's product activity on `day`."""
    features = sorted(activity.features)
    return TimelineEntry(
        customer_id=customer_id,
        kind="product_event",
        occurred_at=activity_start(day),
        item_id=item_id,
        title=activity_title(activity),
        body=(
            f"{len(activity.users)} active users, {activity.logins} logins, "
            f"{len(features)} features used on {day.isoformat()} (UTC)."
        ),
        source="product",
        attributes={
            "day": day.isoformat(),
            "events": activity.events,
            "logins": activity.logins,
            "active_users": len(activity.users),
            "distinct_features": len(features),
            "features": features[:MAX_LISTED_FEATURES],
            "event_counts": dict(_top_counts(activity.event_counts)),
        },
    )


RAW_FIELDS = ("event_id", "event", "user_id", "timestamp", "digest", "properties")


def raw_record(event: ValidEvent) -> tuple[tuple[Any, ...], int]:
    """What is kept of an event (with a TTL) so explanations can cite it: a row of RAW_FIELDS (rows,
    not objects, so the keys are not stored a thousand times), and an upper bound of its size as
    JSON (escaping can make a character of an id up to 6 bytes), so storage can split a day's rows
    into items without serialising each one on its own."""
    row = (
        event.event_id,
        event.name,
        event.user_id,
        event.occurred_at.isoformat(),
        event.digest,
        event.properties,
    )
    size = (
        _RAW_RECORD_OVERHEAD
        + len(event.name)
        + 6 * (len(event.user_id) + len(event.event_id or ""))
        + len(event.properties_json)
    )
    return row, size


def events_digest(events: list[ValidEvent]) -> str:
    """Names a set of events (order-free): the same events retried get the same raw-events item."""
    joined = "".join(sorted(e.digest for e in events))
    return hashlib.blake2b(joined.encode(), digest_size=8).hexdigest()
