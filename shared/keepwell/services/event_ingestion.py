"""Ingest a batch of product events: validate each one, count each one once, keep the raw events and
put each changed customer-day on the timeline.

Per batch: one BatchGetItem resolves the customers, one reads their day items and usage histories,
BatchWriteItems keep the raw events and the day entries of the timeline, then one TransactWriteItems
per customer commits its days' counts and its usage history together (docs/decisions/0005, 0007).
The writes before the commit are idempotent overwrites, and a day's event digests are only committed
after them: a crash in between leaves nothing counted, and the sender's retry redoes the same writes.

The outcome also names what to rescore at once: customers with backfilled days (their history from
the earliest such day) and customers whose last complete day shows a sharp usage drop.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
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
from keepwell.domain.timeline import TimelineEntry, accepts_entry
from keepwell.domain.usage_history import RescoringClaim, UsageHistory, sharp_usage_drop
from keepwell.schemas.events import EventBatchOut, RejectedEvent
from keepwell.services.timeline_recording import frozen_customers
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
    # Every customer whose product metrics changed, sorted.
    affected_customer_ids: list[str]
    # Customers whose first events of today show that yesterday's usage dropped sharply, sorted.
    usage_drops: list[str] = field(default_factory=list)
    # Rescoring claimed (debounced) in the same commit, for the drops and the backfills: what to queue.
    rescoring: dict[str, RescoringClaim] = field(default_factory=dict)


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

    def activity(self) -> DayActivity:
        """The day's totals once this plan is committed."""
        before = self.previous.activity() if self.previous else DayActivity()
        return before.plus(self.rollup)

    def timeline_entry(self) -> TimelineEntry:
        item_id = keys.product_activity_timeline_item_id(self.day)
        return product_activity_entry(self.customer_id, self.day, self.activity(), item_id)


def _group_by_customer_day(
    workspace_id: str, valid: list[ValidEvent], rejected: list[RejectedEvent]
) -> dict[tuple[str, date], list[ValidEvent]]:
    """Events by (customer id, day); events naming no customer of the workspace are rejected, and so
    are those of a churned customer (its timeline is frozen: `customer_churned`)."""
    resolved = resolve_customer_refs(workspace_id, {e.customer for e in valid})
    frozen = frozen_customers(workspace_id, resolved.values()) if resolved else set()
    groups: dict[tuple[str, date], list[ValidEvent]] = defaultdict(list)
    for event in valid:
        customer_id = resolved.get(event.customer)
        ref = event.customer
        if customer_id is None:
            rejected.append(
                RejectedEvent(
                    index=event.position, code="unknown_customer", message=f"no customer with {ref.kind} {ref.value!r}"
                )
            )
        elif not accepts_entry("product_event", customer_id in frozen):
            rejected.append(
                RejectedEvent(
                    index=event.position,
                    code="customer_churned",
                    message=f"customer {customer_id} ({ref.kind} {ref.value!r}) has churned: its timeline is frozen",
                )
            )
        else:
            groups[(customer_id, event.day)].append(event)
    return groups


def _raw_events(plan: _DayPlan) -> metrics.RawEvents:
    records, sizes = zip(*map(raw_record, plan.fresh), strict=True)
    return metrics.RawEvents(plan.customer_id, plan.day, events_digest(plan.fresh), list(records), list(sizes))


@dataclass(frozen=True)
class _Committed:
    raced: bool  # a concurrent writer forced a re-read: the plans hold what was really added
    usage_drop: bool
    rescoring: RescoringClaim | None


def _commit(workspace_id: str, plans: list[_DayPlan], history: UsageHistory | None, now: datetime) -> _Committed:
    """Write one customer's days and its usage history under their conditions. A backfill or a sharp
    drop also claims the customer's rescoring (debounced) in the history, in the same write."""
    customer_id = plans[0].customer_id
    today = now.date()
    raced = False
    current = history or UsageHistory()
    for _attempt in range(MAX_CONCURRENCY_RETRIES):
        live = [plan for plan in plans if plan.fresh]
        if not live:  # another writer counted all of them
            return _Committed(raced, False, None)
        updated = current.with_days((plan.day, plan.activity()) for plan in live)
        dropped = _opens_today(live, today) and sharp_usage_drop(updated, today - timedelta(days=1))
        backfilled = any(plan.day < today for plan in live)
        claim = updated.claim_rescoring(now.timestamp()) if dropped or backfilled else None
        changes = [metrics.DayChange(plan.day, plan.rollup, plan.previous) for plan in live]
        try:
            metrics.commit_customer_days(workspace_id, customer_id, changes, updated)
            return _Committed(raced, dropped, claim)
        except metrics.ConcurrentUpdate:
            raced = True
            days, histories = metrics.read_for_ingestion(
                workspace_id, [(customer_id, plan.day) for plan in plans], consistent=True
            )
            for plan in plans:
                plan.replan(days.get((customer_id, plan.day)))
            current = histories.get(customer_id) or UsageHistory()
    raise RuntimeError(f"could not update the metrics of {customer_id}")  # pragma: no cover


def ingest_batch(workspace_id: str, raw_events: list[Any]) -> BatchIngested:
    """Count each valid event once, whatever the retries; rejected events are reported by index."""
    now = clock.now()
    valid, rejected = validate_events(raw_events, now)
    groups = _group_by_customer_day(workspace_id, valid, rejected)
    previous_days, histories = metrics.read_for_ingestion(workspace_id, groups) if groups else ({}, {})
    plans: list[_DayPlan] = []
    for (customer_id, day), events in groups.items():
        previous = previous_days.get((customer_id, day))
        rollup, fresh = roll_up_new_events(events, previous.event_digests if previous else _NOTHING_COUNTED)
        plans.append(_DayPlan(customer_id, day, events, previous, rollup, fresh))

    changing = [plan for plan in plans if plan.fresh]
    today = now.date()
    usage_drops: set[str] = set()
    rescoring: dict[str, RescoringClaim] = {}
    if changing:
        metrics.put_raw_events(workspace_id, map(_raw_events, changing), raw_event_retention_days(), now)
        timeline.add_timeline_items(workspace_id, [p.timeline_entry() for p in changing])
        by_customer: dict[str, list[_DayPlan]] = defaultdict(list)
        for plan in changing:
            by_customer[plan.customer_id].append(plan)
        conflicted: list[_DayPlan] = []
        for customer_id, customer_plans in by_customer.items():
            committed = _commit(workspace_id, customer_plans, histories.get(customer_id), now)
            if committed.raced:
                conflicted += customer_plans
            if committed.usage_drop:
                usage_drops.add(customer_id)
            if committed.rescoring is not None:
                rescoring[customer_id] = committed.rescoring
        if conflicted:  # the entries written above counted on a stale day: write the real totals
            timeline.add_timeline_items(workspace_id, [p.timeline_entry() for p in conflicted])

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
    return BatchIngested(
        answer=answer,
        recompute_from=recompute_from,
        affected_customer_ids=sorted(affected),
        usage_drops=sorted(usage_drops),
        rescoring=rescoring,
    )


def _opens_today(plans: list[_DayPlan], today: date) -> bool:
    """Whether these plans write the customer's first events of `today`: yesterday is then complete,
    and checked once for a sharp drop (a day in progress always looks like one)."""
    return any(plan.day == today and plan.previous is None and plan.fresh for plan in plans)
