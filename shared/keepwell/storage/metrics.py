"""Per-customer daily product metrics and the raw events behind them.

One item per customer-day (`METRICS#<date>`), addressed by key so scoring reads 90 days in one
BatchGetItem. Ingestion reads the day items of a batch, rolls up only events not counted before,
and writes each day with a version condition: a concurrent writer makes the condition fail and
the service re-reads that day, so an event is counted once whatever the retries.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from pynamodb.attributes import (
    JSONAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.exceptions import UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from keepwell.domain.ingestion import DayRollup
from keepwell.storage import keys
from keepwell.storage.models import TableItem


class DailyMetricsItem(TableItem):
    customer_id = UnicodeAttribute()
    day = UnicodeAttribute()
    events = NumberAttribute(default=0)
    logins = NumberAttribute(default=0)
    event_counts = MapAttribute[str, Any](default=dict)
    active_users = UnicodeSetAttribute(null=True)
    features = UnicodeSetAttribute(null=True)
    event_digests = UnicodeSetAttribute(null=True)
    version = NumberAttribute(default=0)


class RawEventsItem(TableItem):
    customer_id = UnicodeAttribute()
    day = UnicodeAttribute()
    events_json = JSONAttribute()


@dataclass
class DailyMetrics:
    customer_id: str
    day: date
    events: int = 0
    logins: int = 0
    event_counts: dict[str, int] = field(default_factory=dict)
    active_users: set[str] = field(default_factory=set)
    features: set[str] = field(default_factory=set)
    event_digests: set[str] = field(default_factory=set)
    version: int = 0


class ConcurrentUpdate(Exception):
    """Another writer changed the day since we read it; read again and retry."""


def _to_metrics(item: DailyMetricsItem) -> DailyMetrics:
    counts = item.event_counts.as_dict() if hasattr(item.event_counts, "as_dict") else dict(item.event_counts or {})
    return DailyMetrics(
        customer_id=item.customer_id,
        day=date.fromisoformat(item.day),
        events=int(item.events),
        logins=int(item.logins),
        event_counts={k: int(v) for k, v in counts.items()},
        active_users=set(item.active_users or ()),
        features=set(item.features or ()),
        event_digests=set(item.event_digests or ()),
        version=int(item.version),
    )


def get_days(workspace_id: str, wanted: Iterable[tuple[str, date]]) -> dict[tuple[str, date], DailyMetrics]:
    """Fetch customer-days by key in BatchGetItem pages of 100; absent days are simply missing."""
    wanted_keys = [keys.daily_metrics(workspace_id, customer_id, day) for customer_id, day in set(wanted)]
    found: dict[tuple[str, date], DailyMetrics] = {}
    for item in DailyMetricsItem.batch_get([(k.pk, k.sk) for k in wanted_keys]):
        metrics = _to_metrics(item)
        found[(metrics.customer_id, metrics.day)] = metrics
    return found


def apply_rollup(
    workspace_id: str, customer_id: str, day: date, rollup: DayRollup, previous: DailyMetrics | None
) -> None:
    """Add a rollup to a day if nobody wrote it since `previous` was read; else raise ConcurrentUpdate."""
    seen_version = previous.version if previous else 0
    key = keys.daily_metrics(workspace_id, customer_id, day)
    item = DailyMetricsItem(key.pk, key.sk)
    actions: list[Action] = [
        DailyMetricsItem.entity.set("daily_metrics"),
        DailyMetricsItem.workspace_id.set(workspace_id),
        DailyMetricsItem.customer_id.set(customer_id),
        DailyMetricsItem.day.set(day.isoformat()),
        DailyMetricsItem.events.add(rollup.events),
        DailyMetricsItem.logins.add(rollup.logins),
        DailyMetricsItem.version.set(seen_version + 1),
        DailyMetricsItem.event_digests.add(rollup.digests),
    ]
    if rollup.users:
        actions.append(DailyMetricsItem.active_users.add(rollup.users))
    if rollup.features:
        actions.append(DailyMetricsItem.features.add(rollup.features))
    condition: Condition
    if previous is None:
        condition = DailyMetricsItem.pk.does_not_exist()
        actions.append(DailyMetricsItem.event_counts.set(dict(rollup.event_counts)))
    else:
        condition = DailyMetricsItem.version == seen_version
        # Nested counters are set to absolute totals; the version condition makes that exact.
        for name, count in rollup.event_counts.items():
            total = previous.event_counts.get(name, 0) + count
            actions.append(DailyMetricsItem.event_counts[name].set(total))
    try:
        item.update(actions=actions, condition=condition)
    except UpdateError as error:
        if getattr(error, "cause_response_code", "") == "ConditionalCheckFailedException":
            raise ConcurrentUpdate(f"{customer_id} {day}") from error
        raise


def put_raw_events(
    workspace_id: str,
    batches: dict[tuple[str, date], list[dict[str, Any]]],
    batch_digest: str,
    retain_days: int,
    now: datetime,
) -> None:
    """Keep the raw events of a batch, one item per customer-day, expiring after `retain_days`."""
    expires = now + timedelta(days=retain_days)
    with RawEventsItem.batch_write() as batch:
        for (customer_id, day), events in batches.items():
            key = keys.raw_events(workspace_id, customer_id, day, batch_digest)
            batch.save(
                RawEventsItem(
                    key.pk,
                    key.sk,
                    entity="raw_events",
                    workspace_id=workspace_id,
                    customer_id=customer_id,
                    day=day.isoformat(),
                    events_json=events,
                    expires_at=expires,
                )
            )
