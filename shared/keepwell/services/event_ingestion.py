"""Ingest a batch of product events: validate each one, count each one once, keep the raw events and
put each changed customer-day on the timeline.

Per batch: one BatchGetItem resolves the customers, one reads their day items, BatchWriteItems keep
the raw events and the day entries of the timeline, then one conditional write per customer-day
commits the counts (docs/decisions/0005). The writes before the commit are idempotent overwrites,
and a day's event digests are only committed after them: a crash in between leaves nothing
counted, and the sender's retry redoes the same writes.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from keepwell import clock
from keepwell.domain.ingestion import (
    DayActivity,
    DayRollup,
    ValidEvent,
    events_digest,
    product_activity_entry,
    raw_record,
    roll_up_new_events,
    validate_events,
)
from keepwell.domain.timeline import TimelineEntry
from keepwell.schemas.events import EventBatchOut, RejectedEvent
from keepwell.storage import keys, metrics, timeline
from keepwell.storage.customer_lookup import resolve_customer_refs

DEFAULT_RAW_EVENT_RETENTION_DAYS = 30
MAX_CONCURRENCY_RETRIES = 5
_NOTHING_COUNTED: frozenset[str] = frozenset()


def raw_event_retention_days() -> int:
    """How long raw events are kept: `RAW_EVENT_RETENTION_DAYS` (template parameter
    RawEventRetentionDays), 30 days when unset or not a positive whole number."""
    try:
        days = int(os.environ.get("RAW_EVENT_RETENTION_DAYS", ""))
    except ValueError:
        return DEFAULT_RAW_EVENT_RETENTION_DAYS
    return days if days > 0 else DEFAULT_RAW_EVENT_RETENTION_DAYS


@dataclass(frozen=True)
class BatchIngested:
    answer: EventBatchOut
    # Per customer whose past days changed (backfill), the earliest day to score again.
    recompute_from: dict[str, date]
    # Every customer whose product metrics changed, sorted (the ones to rescore).
    affected_customer_ids: list[str]


@dataclass
class _DayPlan:
    customer_id: str
    day: date
    events: list[ValidEvent]
    previous: metrics.DailyMetrics | None
    rollup: DayRollup
    fresh: list[ValidEvent]

    def replan(self, previous: metrics.DailyMetrics | None) -> None:
        self.previous = previous
        self.rollup, self.fresh = roll_up_new_events(
            self.events, previous.event_digests if previous else _NOTHING_COUNTED
        )

    def timeline_entry(self) -> TimelineEntry:
        before = self.previous.activity() if self.previous else DayActivity()
        item_id = keys.product_activity_timeline_item_id(self.day)
        return product_activity_entry(self.customer_id, self.day, before.plus(self.rollup), item_id)


def _group_by_customer_day(
    workspace_id: str, valid: list[ValidEvent], rejected: list[RejectedEvent]
) -> dict[tuple[str, date], list[ValidEvent]]:
    """Events by (customer id, day); events naming no customer of the workspace are rejected."""
    resolved = resolve_customer_refs(workspace_id, {e.customer for e in valid})
    groups: dict[tuple[str, date], list[ValidEvent]] = defaultdict(list)
    for event in valid:
        customer_id = resolved.get(event.customer)
        if customer_id is None:
            ref = event.customer
            rejected.append(
                RejectedEvent(
                    index=event.position, code="unknown_customer", message=f"no customer with {ref.kind} {ref.value!r}"
                )
            )
        else:
            groups[(customer_id, event.day)].append(event)
    return groups


def _raw_events(plan: _DayPlan) -> metrics.RawEvents:
    records, sizes = zip(*map(raw_record, plan.fresh), strict=True)
    return metrics.RawEvents(plan.customer_id, plan.day, events_digest(plan.fresh), list(records), list(sizes))


def _commit(workspace_id: str, plan: _DayPlan) -> bool:
    """Write the day's counts under the version condition; True when a concurrent writer forced a
    re-read (the plan then holds what was really added)."""
    conflicted = False
    for _attempt in range(MAX_CONCURRENCY_RETRIES):
        try:
            metrics.apply_rollup(workspace_id, plan.customer_id, plan.day, plan.rollup, plan.previous)
            return conflicted
        except metrics.ConcurrentUpdate:
            conflicted = True
            wanted = (plan.customer_id, plan.day)
            plan.replan(metrics.get_days(workspace_id, [wanted], consistent=True).get(wanted))
            if not plan.fresh:  # the other writer counted all of them
                return conflicted
    raise RuntimeError(f"could not update the metrics of {plan.customer_id} on {plan.day}")  # pragma: no cover


def ingest_batch(workspace_id: str, raw_events: list[Any]) -> BatchIngested:
    """Count each valid event once, whatever the retries; rejected events are reported by index."""
    now = clock.now()
    valid, rejected = validate_events(raw_events, now)
    groups = _group_by_customer_day(workspace_id, valid, rejected)
    previous_days = metrics.get_days(workspace_id, groups) if groups else {}
    plans: list[_DayPlan] = []
    for (customer_id, day), events in groups.items():
        previous = previous_days.get((customer_id, day))
        rollup, fresh = roll_up_new_events(events, previous.event_digests if previous else _NOTHING_COUNTED)
        plans.append(_DayPlan(customer_id, day, events, previous, rollup, fresh))

    changing = [plan for plan in plans if plan.fresh]
    if changing:
        metrics.put_raw_events(workspace_id, map(_raw_events, changing), raw_event_retention_days(), now)
        timeline.add_timeline_items(workspace_id, [p.timeline_entry() for p in changing])
        conflicted = [plan for plan in changing if _commit(workspace_id, plan)]
        if conflicted:  # the entries written above counted on a stale day: write the real totals
            timeline.add_timeline_items(workspace_id, [p.timeline_entry() for p in conflicted])

    today = now.date()
    recompute_from: dict[str, date] = {}
    affected: set[str] = set()
    for plan in plans:
        if plan.fresh:
            affected.add(plan.customer_id)
            if plan.day < today:
                recompute_from[plan.customer_id] = min(plan.day, recompute_from.get(plan.customer_id, plan.day))
    accepted = sum(len(plan.fresh) for plan in plans)
    rejected.sort(key=lambda r: r.index)
    duplicates = sum(len(plan.events) for plan in plans) - accepted
    answer = EventBatchOut(accepted=accepted, duplicates=duplicates, rejected=rejected)
    return BatchIngested(answer=answer, recompute_from=recompute_from, affected_customer_ids=sorted(affected))
