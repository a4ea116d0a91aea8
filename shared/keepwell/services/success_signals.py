"""Success plans at scoring time (issue 21): capability usage recomputed from the usage the scorer
already read, objectives whose metric meets the target achieved, and risk signals (a lapsed capability,
an overdue milestone) raised once each, as `health.alert` events so they reach the owners' alerts and
playbook event triggers. Kept apart from services/success_plans.py so the scorer imports no API schemas.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from datetime import time as dtime
from typing import Any

from keepwell import clock, ids
from keepwell.adapters.event_bus import DomainEvent
from keepwell.domain import capabilities as caps
from keepwell.domain import success_plans as plans
from keepwell.domain.customers import Customer
from keepwell.domain.health.signals import UsageDay
from keepwell.domain.segments import customer_record
from keepwell.domain.timeline import TimelineEntry
from keepwell.errors import Conflict
from keepwell.observability import logger
from keepwell.storage import audit as audit_store
from keepwell.storage import keys
from keepwell.storage import success_plans as store
from keepwell.storage import timeline as timeline_store

SYSTEM_ACTOR = "system"


def timeline_entry(
    customer_id: str, title: str, event: str, day: date, ref: str, body: str | None = None
) -> TimelineEntry:
    return TimelineEntry(
        customer_id=customer_id,
        kind="system",
        occurred_at=datetime.combine(day, dtime(12, 0), tzinfo=UTC),
        title=title[:300],
        item_id=f"plan-{event}-{ref}",  # one item per event and objective: re-recording overwrites it
        body=body,
        attributes={"event": event, "ref": ref},
    )


# --- at scoring time ---------------------------------------------------------------------------------------
def capability_usage(
    customer: Customer, usage: Sequence[UsageDay], day: date, read: Mapping[str, dict[str, Any]]
) -> dict[str, caps.CapabilityUsage]:
    """Every capability's state on `day`, from the items the scorer's one BatchGetItem read (no request)."""
    workspace_id, customer_id = customer.workspace_id, customer.customer_id
    capabilities = store.capabilities_of(read.get(keys.capabilities(workspace_id).sk))
    before = store.usage_of_raw(read.get(keys.customer(workspace_id, customer_id).sk))
    return caps.usage_all(capabilities, usage, day, before)


def _risk_event(customer: Customer, day: date, kind: str, message: str, details: dict[str, Any]) -> DomainEvent:
    """A risk signal as a `health.alert` (so it reaches the owners' alerts and playbook event
    triggers with `alert_kinds`, like the health engine's own alerts)."""
    return DomainEvent(
        "health.alert",
        {
            "workspace_id": customer.workspace_id,
            "customer_id": customer.customer_id,
            "customer_name": customer.name,
            "owner_id": customer.owner_id,
            "scored_day": day.isoformat(),
            "score": customer.health_score,
            "band": customer.health_band,
            "alert_kind": kind,
            "severity": "warning",
            "message": message,
            "details": details,
            "reason": "success_plan",
        },
    )


def after_scoring(
    customer: Customer,
    usage: Sequence[UsageDay],
    dimensions: Mapping[str, float | None],
    day: date,
    read: Mapping[str, dict[str, Any]],
    score: float | None = None,
) -> list[DomainEvent]:
    """What the scorer does for success plans once a customer's day is scored, from the items its one
    BatchGetItem read (`read`: sort key → raw item: the profile, the plan, the capabilities):
    capability usage recomputed (written on the profile only when it changed), objectives whose metric
    meets the target achieved, and risk signals (a lapsed capability, an overdue milestone) raised once
    each. Returns the events to publish. Nothing to do costs no request; a redelivered scoring finds
    everything done (idempotent)."""
    workspace_id, customer_id = customer.workspace_id, customer.customer_id
    events: list[DomainEvent] = []
    entries: list[TimelineEntry] = []
    capabilities = store.capabilities_of(read.get(keys.capabilities(workspace_id).sk))
    before = store.usage_of_raw(read.get(keys.customer(workspace_id, customer_id).sk))
    usage_now = caps.usage_all(capabilities, usage, day, before)
    if caps.encode(usage_now) != caps.encode(before):
        store.put_capability_usage(workspace_id, customer_id, usage_now)
    names = {c.key: c for c in capabilities}
    for key, found in usage_now.items():
        if found.state == "adopted" and key in before and before[key].state == "lapsed":
            store.clear_risk_signal(workspace_id, customer_id, "capability_lapsed", key)  # a new lapse raises again
    for key in caps.newly_lapsed(before, usage_now):
        capability = names[key]
        evidence = {
            "capability": key,
            "product": capability.product,
            "used_days": usage_now[key].used_days,
            "threshold_days": capability.threshold_days,
            "window_days": capability.window_days,
        }
        title = f"Capability lapsed: {capability.name}"
        if store.raise_risk_signal(
            workspace_id, customer_id, store.RiskSignal("capability_lapsed", key, day.isoformat(), title, evidence)
        ):
            message = (
                f"{capability.name} used on {usage_now[key].used_days} of the last {capability.window_days} days "
                f"(adopted at {capability.threshold_days})"
            )
            events.append(_risk_event(customer, day, "capability_lapsed", message, evidence))
            entries.append(timeline_entry(customer_id, title, "capability_lapsed", day, key, message))
    stored = store.plan_of(read.get(keys.success_plan(workspace_id, customer_id).sk))
    if stored is not None:
        record = customer_record(customer, dimensions) | caps.condition_record(usage_now)
        if score is not None:
            record["health_score"] = score  # the score just computed, not the profile's previous one
        stored, achieved_entries = _achieve(workspace_id, customer_id, stored, record, day)
        entries += achieved_entries
        events += _overdue(customer, stored.plan, day, entries)
    if entries:
        timeline_store.add_timeline_items(workspace_id, entries)
    return events


def _achieve(
    workspace_id: str, customer_id: str, stored: store.StoredPlan, record: Mapping[str, Any], day: date
) -> tuple[store.StoredPlan, list[TimelineEntry]]:
    plan, achieved = plans.achieve_from_record(stored.plan, record, day, ids.new_id)
    if not achieved:
        return stored, []
    updated = store.StoredPlan(plan, clock.iso(clock.now()), SYSTEM_ACTOR, stored.version + 1)
    audit = audit_store.audit_item(
        workspace_id,
        SYSTEM_ACTOR,
        "success_plan.objective_achieved",
        f"success_plan:{customer_id}",
        None,
        {"objectives": [a.objective_id for a in achieved]},
        "the metric met the target at scoring",
    )
    try:
        store.put_plan(workspace_id, updated, [audit], expected=stored.version)
    except Conflict:
        logger.info("plan changed while scoring: achievement left to the next scoring", extra={"customer": customer_id})
        return stored, []
    for a in achieved:
        store.clear_risk_signal(workspace_id, customer_id, "milestone_overdue", a.objective_id)
    title = "Objective achieved: {}"
    return updated, [
        timeline_entry(customer_id, title.format(a.title), "achieved", day, a.objective_id) for a in achieved
    ]


def _overdue(customer: Customer, plan: plans.Plan, day: date, entries: list[TimelineEntry]) -> list[DomainEvent]:
    events = []
    for milestone in plans.overdue_milestones(plan, day):
        evidence = {
            "milestone": milestone.kind,
            "id": milestone.milestone_id,
            "title": milestone.title,
            "due_date": milestone.due_date.isoformat(),
            "days_overdue": milestone.days_overdue,
        }
        title = f"Milestone missed: {milestone.title}"
        signal = store.RiskSignal("milestone_overdue", milestone.milestone_id, day.isoformat(), title, evidence)
        if store.raise_risk_signal(customer.workspace_id, customer.customer_id, signal):
            message = f"{milestone.kind.capitalize()} '{milestone.title}' was due {milestone.due_date.isoformat()}"
            events.append(_risk_event(customer, day, "milestone_overdue", message, evidence))
            entries.append(
                timeline_entry(customer.customer_id, title, "milestone_missed", day, milestone.milestone_id, message)
            )
    return events


def clear_done_milestones(workspace_id: str, before: plans.Plan | None, after: plans.Plan, today: date) -> None:
    """A milestone overdue before a change and not after it (achieved, done, moved) stops being a risk
    signal; should it fall overdue again, it is raised again."""
    if before is None:
        return
    still = {m.milestone_id for m in plans.overdue_milestones(after, today)}
    for m in plans.overdue_milestones(before, today):
        if m.milestone_id not in still:
            store.clear_risk_signal(workspace_id, after.customer_id, "milestone_overdue", m.milestone_id)


def risk_flags(workspace_id: str, customer_id: str) -> list[dict[str, Any]]:
    """The risk signals standing for a customer, as red flags (code, title, evidence, facts)."""
    return risk_flags_of(store.list_risk_signals(workspace_id, customer_id))


def risk_flags_of(signals: Sequence[store.RiskSignal]) -> list[dict[str, Any]]:
    """Risk signals already read, as red flags (code, title, evidence, facts)."""
    return [
        {
            "code": signal.kind,
            "colour": "red",
            "title": signal.title,
            "evidence": [{"text": signal.title, "ref": signal.ref, "at": signal.raised_on}],
            "facts": signal.evidence,
        }
        for signal in signals
    ]
